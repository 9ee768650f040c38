"""The service's parts without a server: validation, keys, quotas and the batch scheduler.

References: :func:`lmcore.generate` (itself checked against ``transformers``) for the tokens,
``transformers``' ``GPT2LMHeadModel.generate`` directly for greedy decoding, and
``BertForSequenceClassification`` for the classifier endpoint's model.
"""

from __future__ import annotations

import json

import pytest
import torch

from lmcore.generate import generate
from lmcore.serve.auth import ANONYMOUS, KeyRing, TokenQuota
from lmcore.serve.batching import (BatchScheduler, GenerationRequest, SamplingSettings,
                                   choose_next_token)
from lmcore.serve.errors import APIError
from lmcore.serve.schemas import (ChatRequest, CompletionRequest, EmbeddingRequest,
                                  parse_body)
from serve_fixtures import tiny_bert_classifier_folder, tiny_gpt2_folder  # noqa: F401


# -- validation ---------------------------------------------------------------------------

def _error(raw, schema=CompletionRequest) -> APIError:
    with pytest.raises(APIError) as caught:
        parse_body(raw if isinstance(raw, bytes) else json.dumps(raw).encode(), schema)
    assert caught.value.status == 400
    return caught.value


@pytest.mark.parametrize("body, param", [
    ({"prompt": "x"}, "model"),
    ({"model": "m"}, "prompt"),
    ({"model": "m", "prompt": 5}, "prompt"),
    ({"model": "m", "prompt": [1, 2]}, "prompt"),
    ({"model": "m", "prompt": []}, "prompt"),
    ({"model": "m", "prompt": "x", "max_tokens": "5"}, "max_tokens"),
    ({"model": "m", "prompt": "x", "max_tokens": 2.5}, "max_tokens"),
    ({"model": "m", "prompt": "x", "max_tokens": -1}, "max_tokens"),
    ({"model": "m", "prompt": "x", "max_tokens": 0}, "max_tokens"),
    ({"model": "m", "prompt": "x", "max_tokens": 10 ** 9}, "max_tokens"),
    ({"model": "m", "prompt": "x", "temperature": -0.1}, "temperature"),
    ({"model": "m", "prompt": "x", "temperature": "hot"}, "temperature"),
    ({"model": "m", "prompt": "x", "top_p": 0}, "top_p"),
    ({"model": "m", "prompt": "x", "top_p": 1.01}, "top_p"),
    ({"model": "m", "prompt": "x", "stop": ["a"] * 5}, "stop"),
    ({"model": "m", "prompt": "x", "stop": [""]}, "stop"),
    ({"model": "m", "prompt": "x", "stream": "yes"}, "stream"),
    ({"model": "m", "prompt": "x", "seed": -1}, "seed"),
    ({"model": "m", "prompt": "x", "n": 2}, "n"),
])
def test_every_invalid_completion_field_is_a_400_naming_the_parameter(body, param):
    assert _error(body).param == param


def test_malformed_json_and_non_object_bodies_are_400s():
    assert "parse the JSON" in _error(b"{\"model\": ").message
    assert "JSON object" in _error(b"[1, 2]").message
    assert "JSON object" in _error(b"\"text\"").message
    assert _error(b"\xff\xfe").status == 400


def test_chat_and_embedding_bodies_are_checked_too():
    assert _error({"model": "m", "messages": []}, ChatRequest).param == "messages"
    assert _error({"model": "m", "messages": [{"role": "robot", "content": "hi"}]},
                  ChatRequest).param == "messages.0.role"
    assert _error({"model": "m", "input": []}, EmbeddingRequest).param == "input"
    assert _error({"model": "m", "input": ""}, EmbeddingRequest).param == "input"
    assert _error({"model": "m", "input": "a", "encoding_format": "hex"},
                  EmbeddingRequest).param == "encoding_format"


def test_valid_requests_keep_their_values():
    body = parse_body(b'{"model": "m", "prompt": ["a", "b"], "temperature": 0, '
                      b'"top_p": 0.5, "stop": "x", "user": "ignored"}', CompletionRequest)
    assert body.prompt == ["a", "b"] and body.temperature == 0.0 and body.stop == ["x"]


# -- keys and quotas ----------------------------------------------------------------------

def test_keys_are_required_only_when_configured():
    assert KeyRing().authenticate(None) == ANONYMOUS
    ring = KeyRing(["sk-one", "sk-two"])
    assert ring.authenticate("Bearer sk-two") == "sk-two"
    for header in (None, "", "sk-one", "Bearer sk-on", "Bearer sk-one2", "Basic sk-one"):
        with pytest.raises(APIError) as caught:
            ring.authenticate(header)
        assert caught.value.status == 401 and caught.value.code == "invalid_api_key"


def test_quota_refuses_when_the_last_minute_plus_the_request_passes_the_limit():
    now = [1000.0]
    quota = TokenQuota(100, clock=lambda: now[0])
    quota.check("k", 60)
    quota.record("k", 60)
    quota.check("k", 40)                      # 60 + 40 = 100 is allowed
    with pytest.raises(APIError) as caught:
        quota.check("k", 41)
    assert caught.value.status == 429 and caught.value.code == "rate_limit_exceeded"
    assert int(caught.value.headers["Retry-After"]) == 60
    quota.check("other", 100)                 # quotas are per key
    now[0] += 60.0                            # the window slides past the first use
    quota.check("k", 100)
    assert quota.used("k") == 0


def test_quota_and_keyring_reject_bad_settings():
    with pytest.raises(ValueError, match="tokens_per_minute"):
        TokenQuota(0)
    with pytest.raises(ValueError, match="keys"):
        KeyRing([""])


# -- the scheduler ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny(tiny_gpt2_folder):
    from lmcore.serve.models import load_text_model
    return load_text_model(tiny_gpt2_folder)


def _run(scheduler, requests):
    for request in requests:
        scheduler.submit(request)
    for request in requests:
        assert request.done.wait(60)
    return requests


def _reference(model, ids, max_new_tokens, eos, **sampling):
    out = generate(model, torch.tensor([ids]), max_new_tokens, eos_token_id=eos, **sampling)
    new = out[0, len(ids):].tolist()
    return new[:new.index(eos) + 1] if eos in new else new


def test_batched_greedy_decoding_equals_generate_and_transformers(tiny, tiny_gpt2_folder):
    from transformers import GPT2LMHeadModel
    hf = GPT2LMHeadModel.from_pretrained(tiny_gpt2_folder).eval()
    prompts = ["Hello world", "The quick brown fox jumps over the lazy", "a",
               "To be, or not to be, that is the question:"]
    scheduler = BatchScheduler(tiny.model, max_batch_size=4).start()
    try:
        requests = _run(scheduler, [
            GenerationRequest(tiny.encode_prompt(p), SamplingSettings(12 + i, 0.0),
                              tiny.eos_token_id, tiny.tokenizer.decode) for i, p in
            enumerate(prompts)])
    finally:
        scheduler.stop()
    assert scheduler.largest_batch > 1, "the requests were not decoded together"
    for request in requests:
        ids = request.prompt_ids
        expected = _reference(tiny.model, ids, request.settings.max_new_tokens,
                              tiny.eos_token_id)
        assert request.generated == expected
        with torch.no_grad():
            hf_new = hf.generate(torch.tensor([ids]), max_new_tokens=len(expected),
                                 do_sample=False, pad_token_id=0)[0, len(ids):].tolist()
        assert hf_new == expected


def test_seeded_sampling_equals_generate_with_the_same_seed(tiny):
    ids = tiny.encode_prompt("Once upon a time")
    scheduler = BatchScheduler(tiny.model, max_batch_size=8).start()
    try:
        requests = _run(scheduler, [GenerationRequest(
            ids, SamplingSettings(10, temperature, top_p, seed=seed), None,
            tiny.tokenizer.decode) for temperature, top_p, seed in
            [(1.0, 1.0, 7), (0.7, 0.9, 7), (1.3, 0.5, 123), (1.0, 1.0, 7)]])
    finally:
        scheduler.stop()
    for request in requests:
        s = request.settings
        expected = generate(tiny.model, torch.tensor([ids]), 10, do_sample=True,
                            temperature=s.temperature, top_p=s.top_p,
                            generator=torch.Generator().manual_seed(s.seed))[0, len(ids):]
        assert request.generated == expected.tolist()
    assert requests[0].generated == requests[3].generated
    assert requests[0].generated != requests[2].generated


def test_choose_next_token_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    seen = {choose_next_token(logits, 1.0, 0.75, torch.Generator().manual_seed(s))
            for s in range(200)}
    assert seen == {0, 1}
    assert choose_next_token(logits, 0.0, 1.0, None) == 0


def _stream_text(request):
    return "".join(update.text for update in request.received)


def test_stop_strings_cut_the_text_and_streamed_pieces_add_up(tiny):
    ids = tiny.encode_prompt("The meaning of life is")
    greedy = tiny.tokenizer.decode(_reference(tiny.model, ids, 30, None))
    stop = greedy[10:13]                      # a stop string the greedy text contains
    assert greedy.find(stop) >= 10
    scheduler = BatchScheduler(tiny.model).start()
    try:
        cut, whole = _run(scheduler, [
            GenerationRequest(ids, SamplingSettings(30, 0.0, stop=(stop,)), None,
                              tiny.tokenizer.decode),
            GenerationRequest(ids, SamplingSettings(30, 0.0), None, tiny.tokenizer.decode)])
    finally:
        scheduler.stop()
    assert cut.text == greedy[:greedy.find(stop)] and cut.finish_reason == "stop"
    assert whole.text == greedy and whole.finish_reason == "length"
    assert _stream_text(cut) == cut.text and _stream_text(whole) == whole.text
    assert len(cut.generated) < 30


def test_the_end_of_text_token_stops_a_request_and_is_not_shown(tiny):
    ids = tiny.encode_prompt("Hi")
    first = _reference(tiny.model, ids, 1, None)[0]
    scheduler = BatchScheduler(tiny.model).start()
    try:          # pretend the model's first greedy token is the end-of-text token
        (request,) = _run(scheduler, [GenerationRequest(ids, SamplingSettings(5, 0.0), first,
                                                        tiny.tokenizer.decode)])
    finally:
        scheduler.stop()
    assert request.generated == [first] and request.text == ""
    assert request.finish_reason == "stop"


def test_a_cancelled_request_is_dropped_and_the_others_finish(tiny):
    ids = tiny.encode_prompt("Long story:")
    scheduler = BatchScheduler(tiny.model).start()
    try:
        leaving = GenerationRequest(ids, SamplingSettings(100, 0.0), None,
                                    tiny.tokenizer.decode)
        staying = GenerationRequest(ids, SamplingSettings(40, 0.0), None,
                                    tiny.tokenizer.decode)
        leaving.cancel()
        _run(scheduler, [staying])
        scheduler.submit(leaving)
        late = GenerationRequest(ids, SamplingSettings(20, 0.0), None, tiny.tokenizer.decode)
        _run(scheduler, [late])
    finally:
        scheduler.stop()
    assert staying.generated == _reference(tiny.model, ids, 40, None)
    assert late.generated == staying.generated[:20]
    assert leaving.finish_reason is None and len(leaving.generated) < 100
    assert scheduler.busy == 0


def test_unbatched_scheduler_decodes_one_request_at_a_time(tiny):
    ids = tiny.encode_prompt("One at a time")
    scheduler = BatchScheduler(tiny.model, max_batch_size=1).start()
    try:
        requests = _run(scheduler, [GenerationRequest(ids, SamplingSettings(5, 0.0), None,
                                                      tiny.tokenizer.decode)
                                    for _ in range(3)])
    finally:
        scheduler.stop()
    assert scheduler.largest_batch == 1
    assert all(r.generated == requests[0].generated for r in requests)


def test_scheduler_and_requests_reject_bad_arguments(tiny):
    with pytest.raises(ValueError, match="max_batch_size"):
        BatchScheduler(tiny.model, max_batch_size=0)
    with pytest.raises(ValueError, match="prompt_ids"):
        GenerationRequest([], SamplingSettings(), None, tiny.tokenizer.decode)


# -- the classifier endpoint's model ------------------------------------------------------

def test_classifier_folder_gives_the_probabilities_of_transformers(tiny_bert_classifier_folder):
    from transformers import BertForSequenceClassification
    from lmcore.serve.models import load_classifier
    from lmcore.tokenize import wordpiece_tokenizer
    ours = load_classifier(tiny_bert_classifier_folder)
    assert ours.labels == ["negative", "positive"]
    hf = BertForSequenceClassification.from_pretrained(tiny_bert_classifier_folder).eval()
    texts = ["a wonderful film", "dull and far too long, with no story at all"]
    tokenizer = wordpiece_tokenizer()
    expected = []
    for text in texts:
        ids = torch.tensor([tokenizer.encode_pair(text)["input_ids"]])
        with torch.no_grad():
            expected.append(torch.softmax(hf(ids).logits[0], dim=-1))
    torch.testing.assert_close(ours.probabilities(texts), torch.stack(expected),
                               atol=1e-5, rtol=1e-4)


def test_a_saved_classifier_loads_back_and_in_transformers(tmp_path):
    from transformers import BertForSequenceClassification
    from lmcore.serve.models import Classifier, load_classifier, save_classifier
    from lmcore.tokenize import wordpiece_tokenizer
    from lmcore.transformer import BertConfig, BertEncoder
    torch.manual_seed(1)
    encoder = BertEncoder(BertConfig(vocab_size=30522, max_positions=64, d_model=32,
                                     num_layers=1, num_heads=2, d_ff=64, dropout=0.0)).eval()
    classifier = Classifier(encoder, ["negative", "neutral", "positive"]).eval()
    classifier.tokenizer = wordpiece_tokenizer()
    texts = ["fine", "not fine at all"]
    folder = save_classifier(classifier, tmp_path / "sentiment")
    again = load_classifier(folder)
    assert again.labels == classifier.labels and again.id == "sentiment"
    torch.testing.assert_close(again.probabilities(texts), classifier.probabilities(texts))
    hf = BertForSequenceClassification.from_pretrained(folder).eval()
    ids = torch.tensor([wordpiece_tokenizer().encode_pair(texts[1])["input_ids"]])
    with torch.no_grad():
        expected = torch.softmax(hf(ids).logits[0], dim=-1)
    torch.testing.assert_close(classifier.probabilities(texts)[1], expected, atol=1e-5,
                               rtol=1e-4)


def test_percentile_is_the_nearest_rank_value():
    from lmcore.serve.loadtest import percentile
    values = [float(v) for v in range(1, 101)]          # 1..100
    assert percentile(values, 50) == 50.0 and percentile(values, 99) == 99.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and percentile([3.0, 1.0, 2.0], 99) == 3.0
    assert percentile([5.0], 0) == 5.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_create_app_names_a_bad_config():
    from lmcore.serve import ServiceConfig, create_app
    with pytest.raises(TypeError, match="'config' argument of create_app"):
        create_app({"model_folder": "x"})
    with pytest.raises(ValueError, match="model_folder or text_model"):
        create_app(ServiceConfig())
