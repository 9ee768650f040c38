"""The service over real HTTP: a uvicorn server in a child process on a free port of
127.0.0.1, called with the official ``openai`` client and with raw HTTP (``httpx``).

Each server is started by ``lmcore.serve.start_server`` (``python -m lmcore serve``), waited
for on ``GET /ready``, and stopped by its process id (SIGTERM) in the fixture's finalizer.
References: :func:`lmcore.generate` on the same checkpoint (itself equal to ``transformers``),
:func:`lmcore.transformer.sentence_embeddings`, and ``transformers``' classifier.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import subprocess
import sys
import threading

import httpx
import numpy as np
import openai
import pytest
import torch
from openai import OpenAI

from lmcore.generate import generate
from lmcore.serve import chat_prompt, start_server
from lmcore.serve.app import CHAT_STOP
from lmcore.serve.models import load_text_model
from serve_fixtures import tiny_bert_classifier_folder, tiny_gpt2_folder  # noqa: F401

MODEL = "tiny-gpt"


@pytest.fixture(scope="module")
def server(tiny_gpt2_folder, tiny_bert_classifier_folder):
    process = start_server(tiny_gpt2_folder, classifier=tiny_bert_classifier_folder,
                           model_name=MODEL)
    yield process
    assert process.stop() == 0, process.log()[-2000:]


@pytest.fixture(scope="module")
def client(server):
    return OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.root_url, timeout=60, trust_env=False) as session:
        yield session


@pytest.fixture(scope="module")
def tiny(tiny_gpt2_folder):
    return load_text_model(tiny_gpt2_folder)


def greedy_text(tiny, prompt: str, max_tokens: int, stop=()) -> tuple[str, int, str]:
    """(text, completion tokens, finish reason) that lmcore.generate gives greedily."""
    ids = tiny.encode_prompt(prompt)
    new = generate(tiny.model, torch.tensor([ids]), max_tokens,
                   eos_token_id=tiny.eos_token_id)[0, len(ids):].tolist()
    eos = tiny.eos_token_id
    if eos in new:
        new = new[:new.index(eos) + 1]
    for count in range(1, len(new) + 1):      # the first token after which a stop appears
        text = tiny.tokenizer.decode([t for t in new[:count] if t != eos])
        hits = [text.find(s) for s in stop if s in text]
        if hits:
            return text[:min(hits)], count, "stop"
    text = tiny.tokenizer.decode([t for t in new if t != eos])
    return text, len(new), "stop" if new[-1] == eos else "length"


# -- every endpoint through the official client -------------------------------------------

def test_models_lists_the_gpt_minilm_and_the_classifier(client):
    ids = {model.id for model in client.models.list()}
    assert ids == {MODEL, "all-MiniLM-L6-v2", "tiny-sentiment"}
    assert client.models.retrieve(MODEL).id == MODEL


def test_greedy_completion_equals_generate_with_exact_usage(client, tiny):
    prompt = "The capital of France is"
    answer = client.completions.create(model=MODEL, prompt=prompt, max_tokens=20,
                                       temperature=0)
    text, count, reason = greedy_text(tiny, prompt, 20)
    assert answer.choices[0].text == text and answer.choices[0].finish_reason == reason
    assert answer.usage.prompt_tokens == len(tiny.tokenizer.encode(prompt))
    assert answer.usage.completion_tokens == count
    assert answer.usage.total_tokens == answer.usage.prompt_tokens + count


def test_a_list_of_prompts_gives_one_choice_each(client, tiny):
    prompts = ["One", "Two roads diverged in a", "Three"]
    answer = client.completions.create(model=MODEL, prompt=prompts, max_tokens=8,
                                       temperature=0)
    assert [c.index for c in answer.choices] == [0, 1, 2]
    for prompt, choice in zip(prompts, answer.choices):
        assert choice.text == greedy_text(tiny, prompt, 8)[0]
    assert answer.usage.prompt_tokens == sum(len(tiny.tokenizer.encode(p)) for p in prompts)


def test_streamed_completion_concatenates_to_the_whole_text(client):
    kwargs = dict(model=MODEL, prompt="Streaming text arrives", max_tokens=25, temperature=0)
    whole = client.completions.create(**kwargs)
    chunks = list(client.completions.create(stream=True,
                                            stream_options={"include_usage": True}, **kwargs))
    pieces = [c for c in chunks if c.choices]
    assert len(pieces) > 2
    assert "".join(c.choices[0].text for c in pieces) == whole.choices[0].text
    assert pieces[-1].choices[0].finish_reason == whole.choices[0].finish_reason
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_stop_strings_end_the_completion(client, tiny):
    prompt = "Stop me if you can"
    full = greedy_text(tiny, prompt, 30)[0]
    stop = full[8:11]
    answer = client.completions.create(model=MODEL, prompt=prompt, max_tokens=30,
                                       temperature=0, stop=[stop])
    text, count, reason = greedy_text(tiny, prompt, 30, stop=[stop])
    assert answer.choices[0].text == text == full[:full.find(stop)]
    assert answer.choices[0].finish_reason == reason == "stop"
    assert answer.usage.completion_tokens == count < 30
    streamed = client.completions.create(model=MODEL, prompt=prompt, max_tokens=30,
                                         temperature=0, stop=[stop], stream=True)
    assert "".join(c.choices[0].text for c in streamed) == text


def test_the_same_seed_gives_the_same_sample(client):
    kwargs = dict(model=MODEL, prompt="Roll the dice:", max_tokens=12, temperature=1.0)
    first = client.completions.create(seed=42, **kwargs).choices[0].text
    again = client.completions.create(seed=42, **kwargs).choices[0].text
    other = client.completions.create(seed=43, **kwargs).choices[0].text
    assert first == again and first != other


def test_chat_follows_the_documented_template(client, tiny):
    messages = [{"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Name a colour."}]
    answer = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=15,
                                            temperature=0)
    prompt = "System: You are terse.\nUser: Name a colour.\nAssistant:"
    from lmcore.serve.schemas import ChatMessage
    assert chat_prompt([ChatMessage(**m) for m in messages]) == prompt
    text, count, reason = greedy_text(tiny, prompt, 15, stop=CHAT_STOP)
    message = answer.choices[0].message
    assert message.role == "assistant" and message.content == text
    assert answer.choices[0].finish_reason == reason
    assert answer.usage.prompt_tokens == len(tiny.tokenizer.encode(prompt))
    assert answer.usage.completion_tokens == count
    stream = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=15,
                                            temperature=0, stream=True)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text


def test_embeddings_equal_minilm_computed_directly(client, http):
    from lmcore.transformer import sentence_embeddings
    texts = ["A man is eating food.", "A man is eating a piece of bread."]
    answer = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts)   # base64
    got = np.array([item.embedding for item in answer.data])
    expected = sentence_embeddings(texts).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    raw = http.post("/v1/embeddings", json={"model": "all-MiniLM-L6-v2", "input": texts[0],
                                            "encoding_format": "float"}).json()
    np.testing.assert_allclose(raw["data"][0]["embedding"], expected[0], atol=1e-6)
    single = client.embeddings.create(model="all-MiniLM-L6-v2", input=texts[0],
                                      encoding_format="base64")
    vector = np.frombuffer(base64.b64decode(single.data[0].embedding), "<f4") \
        if isinstance(single.data[0].embedding, str) else np.array(single.data[0].embedding)
    np.testing.assert_allclose(vector, expected[0], atol=1e-6)
    from lmcore.tokenize import wordpiece_tokenizer
    tokens = sum(len(wordpiece_tokenizer().encode_pair(t)["input_ids"]) for t in texts)
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == tokens


def test_classifications_equal_the_classifier_run_directly(client,
                                                           tiny_bert_classifier_folder):
    from lmcore.serve.models import load_classifier
    texts = ["a wonderful film", "a dreadful film"]
    answer = client.post("/classifications", body={"model": "tiny-sentiment", "input": texts},
                         cast_to=object)
    probs = load_classifier(tiny_bert_classifier_folder).probabilities(texts)
    assert [item["index"] for item in answer["data"]] == [0, 1]
    for item, row in zip(answer["data"], probs.tolist()):
        assert item["scores"] == pytest.approx(dict(zip(["negative", "positive"], row)),
                                               abs=1e-6)
        assert item["label"] == max(item["scores"], key=item["scores"].get)


def test_openapi_document_lists_the_endpoints(http):
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/v1/models", "/v1/completions", "/v1/chat/completions", "/v1/embeddings",
            "/v1/classifications", "/ready"} <= set(paths)
    schema = paths["/v1/completions"]["post"]["requestBody"]["content"]["application/json"]
    assert "max_tokens" in schema["schema"]["properties"]


# -- errors, by raw HTTP ------------------------------------------------------------------

def _assert_error(response, status, param=None, code=None):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert error["param"] == param and error["code"] == code
    return error


COMPLETIONS, CHAT, EMBEDDINGS = "/v1/completions", "/v1/chat/completions", "/v1/embeddings"
OK = {"model": MODEL, "prompt": "Hi"}


@pytest.mark.parametrize("path, body, param", [
    (COMPLETIONS, b"{\"model\": \"tiny-gpt\", \"prompt\": ", None),       # malformed JSON
    (COMPLETIONS, b"not json at all", None),
    (COMPLETIONS, b"[\"a list\"]", None),                                  # not an object
    (COMPLETIONS, b"42", None),
    (COMPLETIONS, OK | {"max_tokens": "5"}, "max_tokens"),                # wrong types
    (COMPLETIONS, OK | {"prompt": 3}, "prompt"),
    (COMPLETIONS, OK | {"temperature": "0"}, "temperature"),
    (COMPLETIONS, OK | {"stream": 1}, "stream"),
    (COMPLETIONS, {"prompt": "Hi"}, "model"),                             # missing fields
    (COMPLETIONS, {"model": MODEL}, "prompt"),
    (COMPLETIONS, OK | {"max_tokens": -3}, "max_tokens"),                 # negative
    (COMPLETIONS, OK | {"max_tokens": 100000}, "max_tokens"),             # over-large
    (COMPLETIONS, OK | {"max_tokens": 500}, "max_tokens"),                # past the context
    (COMPLETIONS, OK | {"temperature": -0.5}, "temperature"),
    (COMPLETIONS, OK | {"top_p": 0}, "top_p"),
    (COMPLETIONS, OK | {"top_p": 1.5}, "top_p"),
    (COMPLETIONS, OK | {"prompt": "word " * 200}, "prompt"),              # longer than context
    (CHAT, {"model": MODEL, "messages": "hello"}, "messages"),
    (CHAT, {"model": MODEL, "messages": [{"role": "user"}]}, "messages.0.content"),
    (CHAT, {"model": MODEL, "messages": [{"role": "user", "content": "x " * 200}]},
     "messages"),
    (EMBEDDINGS, {"model": "all-MiniLM-L6-v2", "input": []}, "input"),    # empty input
    (EMBEDDINGS, {"model": "all-MiniLM-L6-v2", "input": ""}, "input"),
    (EMBEDDINGS, {"model": "all-MiniLM-L6-v2", "input": ["ok", ""]}, "input"),
    (EMBEDDINGS, {"model": "all-MiniLM-L6-v2"}, "input"),
])
def test_every_invalid_request_is_a_400_with_an_openai_error_body(http, path, body, param):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = http.post(path, content=content, headers={"Content-Type": "application/json"})
    code = "context_length_exceeded" if "context length" in response.text else None
    error = _assert_error(response, 400, param, code)
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize("path, body", [
    (COMPLETIONS, {"model": "gpt-4", "prompt": "Hi"}),
    (CHAT, {"model": "all-MiniLM-L6-v2", "messages": [{"role": "user", "content": "Hi"}]}),
    (EMBEDDINGS, {"model": MODEL, "input": "Hi"}),
    ("/v1/classifications", {"model": "nope", "input": "Hi"}),
])
def test_an_unknown_model_is_a_404(http, path, body):
    _assert_error(http.post(path, json=body), 404, "model", "model_not_found")


def test_unknown_routes_and_methods_get_openai_bodies_too(http):
    _assert_error(http.get("/v1/nothing-here"), 404, None, "unknown_url")
    _assert_error(http.get("/v1/models/unknown"), 404, "model", "model_not_found")
    _assert_error(http.get(COMPLETIONS), 405)


def test_the_client_raises_the_matching_errors(client):
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=MODEL, prompt="Hi", max_tokens=-1)
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="davinci", prompt="Hi")
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="all-MiniLM-L6-v2", input=[])


STRANGE = [b"", b"null", b"{}", b"{\"model\": null, \"prompt\": null}",
           b"{\"model\": \"tiny-gpt\", \"prompt\": \"x\", \"temperature\": NaN}",
           b"{\"model\": \"tiny-gpt\", \"prompt\": \"x\", \"top_p\": 1e999}",
           b"{\"model\": \"tiny-gpt\", \"prompt\": \"x\", \"max_tokens\": 1e3}",
           b"{\"model\": \"tiny-gpt\", \"prompt\": \"x\", \"seed\": 99999999999999999999999}",
           b"{\"model\": \"tiny-gpt\", \"prompt\": {\"nested\": [1, {}]}}",
           b"{\"model\": \"tiny-gpt\", \"prompt\": \"\\ud800 lone surrogate\"}",
           b"{\"model\": \"tiny-gpt\", \"prompt\": \"x\", \"stop\": [1]}",
           b"{\"model\": \"tiny-gpt\", \"prompt\": \"x\", \"stream_options\": 3}",
           b"{\"model\": [], \"messages\": [[]]}",
           b"{\"model\": \"tiny-gpt\", \"messages\": [{\"role\": \"user\", \"content\": 5}]}",
           "{\"model\": \"tiny-gpt\", \"prompt\": \"caf\u00e9 \U0001f600\"}".encode(),
           b"{\"model\": \"tiny-gpt\", \"prompt\": \"\"}"]


@pytest.mark.parametrize("path", [COMPLETIONS, CHAT, EMBEDDINGS, "/v1/classifications"])
def test_strange_bodies_never_get_a_500(http, path):
    for content in STRANGE:
        response = http.post(path, content=content)
        assert response.status_code < 500, (content, response.text)
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"message", "type", "param", "code"}


# -- concurrency and disconnection --------------------------------------------------------

def test_sixteen_concurrent_requests_are_answered_correctly_and_batched(client, http, tiny):
    prompts = [f"Request number {i} says" + " more" * (i % 5) for i in range(16)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda p: client.completions.create(
            model=MODEL, prompt=p, max_tokens=24, temperature=0), prompts))
    for prompt, answer in zip(prompts, answers):
        text, count, _ = greedy_text(tiny, prompt, 24)
        assert answer.choices[0].text == text and answer.usage.completion_tokens == count
    assert http.get("/ready").json()["scheduler"]["largest_batch"] > 1


def test_a_client_leaving_mid_stream_does_not_disturb_another(server, client, http, tiny):
    dropped_before = http.get("/ready").json()["scheduler"]["dropped"]
    body = {"model": MODEL, "prompt": "A very long story begins", "max_tokens": 120,
            "temperature": 0, "stream": True}
    result = {}

    def other():
        result["answer"] = client.completions.create(model=MODEL, prompt="Meanwhile,",
                                                     max_tokens=40, temperature=0)

    with httpx.Client(base_url=server.root_url, timeout=60, trust_env=False) as leaver:
        with leaver.stream("POST", COMPLETIONS, json=body) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            received = [line for line, _ in zip(lines, range(3))]
            assert received[0].startswith("data: ")
            thread = threading.Thread(target=other)
            thread.start()
        # leaving the block closes the connection in the middle of the stream
    thread.join(60)
    assert result["answer"].choices[0].text == greedy_text(tiny, "Meanwhile,", 40)[0]
    for _ in range(100):                     # the server notices at its next token
        stats = http.get("/ready").json()["scheduler"]
        if stats["dropped"] > dropped_before and stats["busy"] == 0:
            break
        threading.Event().wait(0.1)
    assert stats["dropped"] == dropped_before + 1 and stats["busy"] == 0
    assert "dropped a request whose client went away" in server.log()
    answer = client.completions.create(model=MODEL, prompt="Still alive?", max_tokens=5,
                                       temperature=0)
    assert answer.choices[0].text == greedy_text(tiny, "Still alive?", 5)[0]


# -- keys and quotas ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def guarded(tiny_gpt2_folder):
    process = start_server(tiny_gpt2_folder, model_name=MODEL, api_keys=["sk-alice", "sk-bob"],
                           tokens_per_minute=60, embeddings=False)
    yield process
    assert process.stop() == 0


def test_keys_are_required_and_compared(guarded):
    with httpx.Client(base_url=guarded.root_url, trust_env=False, timeout=60) as http:
        _assert_error(http.get("/v1/models"), 401, None, "invalid_api_key")
        _assert_error(http.post(COMPLETIONS, json=OK), 401, None, "invalid_api_key")
        _assert_error(http.get("/v1/models", headers={"Authorization": "Bearer sk-mallory"}),
                      401, None, "invalid_api_key")
        # authentication comes first: a bad body without a key is still a 401
        _assert_error(http.post(COMPLETIONS, content=b"{"), 401, None, "invalid_api_key")
        assert http.get("/ready").status_code == 200          # readiness needs no key
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=guarded.base_url, api_key="sk-wrong", max_retries=0).models.list()
    alice = OpenAI(base_url=guarded.base_url, api_key="sk-alice", max_retries=0)
    assert {m.id for m in alice.models.list()} == {MODEL}


def test_a_spent_quota_is_a_429_for_that_key_only(guarded):
    alice = OpenAI(base_url=guarded.base_url, api_key="sk-alice", max_retries=0)
    bob = OpenAI(base_url=guarded.base_url, api_key="sk-bob", max_retries=0)
    used = 0
    for _ in range(2):       # 1 + 20 tokens each: 42 of the 60 per minute
        answer = alice.completions.create(model=MODEL, prompt="Hi", max_tokens=20,
                                          temperature=0)
        used += answer.usage.total_tokens
    assert used == 42
    with pytest.raises(openai.RateLimitError) as caught:       # 42 + 21 > 60
        alice.completions.create(model=MODEL, prompt="Hi", max_tokens=20)
    response = caught.value.response
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    error = response.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "tokens"
    assert bob.completions.create(model=MODEL, prompt="Hi", max_tokens=20).usage


# -- start and stop -----------------------------------------------------------------------

def test_sigterm_lets_the_stream_in_flight_finish_then_exits_cleanly(tiny_gpt2_folder):
    process = start_server(tiny_gpt2_folder, model_name=MODEL, embeddings=False)
    body = {"model": MODEL, "prompt": "Last words", "max_tokens": 60, "temperature": 0,
            "stream": True}
    with httpx.Client(base_url=process.root_url, timeout=60, trust_env=False) as http:
        with http.stream("POST", COMPLETIONS, json=body) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line)
            stopper = threading.Thread(target=process.stop)
            stopper.start()                    # SIGTERM to the server's process id
            rest = [line for line in lines if line]
    stopper.join(60)
    assert first.startswith("data: {") and rest[-1] == "data: [DONE]"
    assert process.process.returncode == 0
    log = process.log()
    assert "draining, then stopping" in log and "Application shutdown complete" in log
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{process.root_url}/health", timeout=5, trust_env=False)


def test_the_command_line_checks_its_arguments(tmp_path):
    result = subprocess.run([sys.executable, "-m", "lmcore", "serve", "--model",
                             str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "config.json and model.safetensors" in result.stderr
    helped = subprocess.run([sys.executable, "-m", "lmcore", "serve", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert "--api-key" in helped.stdout and "--max-batch-size" in helped.stdout
