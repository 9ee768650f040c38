"""The OpenAI-compatible HTTP service: FastAPI routes (chapter 12).

=========================  ==================================================================
route                      what it does
=========================  ==================================================================
GET  /health               liveness: the process answers (no key needed)
GET  /ready                readiness: 200 once the models are loaded, 503 while shutting down
GET  /v1/models            the served models (the GPT, MiniLM, the classifier if any)
GET  /v1/models/{id}       one of them, or 404
POST /v1/completions       continue a prompt (or a list of prompts); ``stream`` as SSE
POST /v1/chat/completions  the next assistant turn of a conversation (template below)
POST /v1/embeddings        MiniLM sentence embeddings (mean-pooled, normalised)
POST /v1/classifications   lmcore's own: label texts with a BERT classifier (see below)
GET  /openapi.json         the OpenAPI document FastAPI writes (``/docs`` shows it)
=========================  ==================================================================

Requests and responses have the OpenAI API's shapes; every error is an OpenAI error body with
a 4xx status (:mod:`lmcore.serve.errors`). Generation goes through one
:class:`lmcore.serve.batching.BatchScheduler`, so concurrent requests are decoded together.

**The chat template.** The served GPT is a base model: it continues text and knows nothing
of roles. A conversation becomes one plain-text prompt, one line per message, and the
model continues after the last ``Assistant:``::

    System: You are terse.
    User: Name a colour.
    Assistant:

The reply stops at ``max_tokens``, at the end-of-text token, or where the model starts a new
``\\nUser:`` or ``\\nSystem:`` line (stop strings added to the request's own); the reply text is
returned as generated (with its leading space), so streamed pieces add up to it exactly.

**Classification** (``POST /v1/classifications``, served when ``--classifier FOLDER`` is
given): ``{"model": ID, "input": "text" | ["text", ...]}`` ->
``{"object": "list", "model": ID, "data": [{"object": "classification", "index": i,
"label": "positive", "score": 0.93, "scores": {"negative": 0.07, "positive": 0.93}}, ...],
"usage": {"prompt_tokens": n, "total_tokens": n}}``. ``scores`` is the softmax of the
classifier head; ``label`` its argmax. Any ``BertForSequenceClassification``-layout folder
works (:func:`lmcore.serve.models.load_classifier`); chapter 10's fine-tuned sentiment
classifier is one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Optional

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from lmcore.serve.auth import KeyRing, TokenQuota
from lmcore.serve.batching import BatchScheduler, GenerationRequest, SamplingSettings, Update
from lmcore.serve.errors import APIError, install_handlers
from lmcore.serve.models import (Classifier, EmbeddingModel, TextModel, load_classifier,
                                 load_embedding_model, load_text_model)
from lmcore.serve.schemas import (ChatRequest, ClassificationRequest, CompletionRequest,
                                  EmbeddingRequest, parse_body)

__all__ = ["ServiceConfig", "create_app", "chat_prompt", "CHAT_STOP",
           "DEFAULT_COMPLETION_TOKENS"]

log = logging.getLogger("lmcore.serve")

DEFAULT_COMPLETION_TOKENS = 16       # as the OpenAI completions endpoint
DEFAULT_CHAT_TOKENS = 64             # chat: at most this, or what the context leaves
CHAT_STOP = ("\nUser:", "\nSystem:")
_ROLE_NAMES = {"system": "System", "user": "User", "assistant": "Assistant"}


def chat_prompt(messages: list[Any]) -> str:
    """The plain-text prompt of a conversation (the documented template above); messages
    are dicts ``{"role", "content"}`` or objects with those attributes."""
    pairs = [(m["role"], m["content"]) if isinstance(m, dict) else (m.role, m.content)
             for m in messages]
    lines = [f"{_ROLE_NAMES[role]}: {content}" for role, content in pairs]
    return "\n".join(lines + ["Assistant:"])


@dataclasses.dataclass
class ServiceConfig:
    """What to serve and how. ``model_folder`` (or an already loaded ``text_model``) is the
    GPT; MiniLM is served for embeddings unless ``embeddings=False``."""
    model_folder: Optional[str] = None
    model_name: Optional[str] = None
    text_model: Optional[TextModel] = None
    embeddings: bool = True
    classifier_folder: Optional[str] = None
    classifier_name: Optional[str] = None
    api_keys: tuple[str, ...] = ()
    tokens_per_minute: Optional[int] = None
    max_batch_size: int = 16


class _State:
    """Everything the routes share: models, scheduler, keys, quota, readiness."""

    def __init__(self, config: ServiceConfig):
        self.config = config
        self.keys = KeyRing(config.api_keys)
        self.quota = TokenQuota(config.tokens_per_minute)
        self.text: Optional[TextModel] = None
        self.embedder: Optional[EmbeddingModel] = None
        self.classifier: Optional[Classifier] = None
        self.scheduler: Optional[BatchScheduler] = None
        self.ready = False
        self.created = int(time.time())

    def load(self) -> None:
        config = self.config
        self.text = config.text_model or load_text_model(config.model_folder, config.model_name)
        if config.embeddings:
            self.embedder = load_embedding_model()
        if config.classifier_folder:
            self.classifier = load_classifier(config.classifier_folder, config.classifier_name)
        self.scheduler = BatchScheduler(self.text.model, config.max_batch_size).start()
        self.ready = True

    def model_ids(self) -> dict[str, str]:
        ids = {self.text.id: "text-generation"}
        if self.embedder is not None:
            ids[self.embedder.id] = "embeddings"
        if self.classifier is not None:
            ids[self.classifier.id] = "classification"
        return ids

    def find(self, model_id: str, kind: str, endpoint: str) -> Any:
        """The model ``model_id`` if it serves ``kind``; else a 404 naming what does."""
        served = {self.text.id: self.text} if kind == "text-generation" else (
            {self.embedder.id: self.embedder} if kind == "embeddings" and self.embedder
            else {self.classifier.id: self.classifier}
            if kind == "classification" and self.classifier else {})
        if model_id in served:
            return served[model_id]
        raise APIError(404, f"The model {model_id!r} does not exist or is not served by "
                       f"{endpoint}. Models served there: {sorted(served) or 'none'}.",
                       param="model", code="model_not_found")


def _state(request: Request) -> _State:
    state: _State = request.app.state.service
    if not state.ready:
        raise APIError(503, "The service is not ready (starting or shutting down).",
                       type="server_error", code="not_ready")
    return state


# --------------------------------------------------------------------------------------------
# Generation shared by completions and chat
# --------------------------------------------------------------------------------------------

def _prompt_ids(state: _State, model: TextModel, prompts: list[str],
                max_tokens: Optional[int], default_tokens: int, chat: bool) -> tuple[list, int]:
    """Token ids of each prompt and the completion length, checked against the context."""
    all_ids = [model.encode_prompt(p) for p in prompts]
    context = model.context_length
    longest = max(len(ids) for ids in all_ids)
    if max_tokens is None:   # chat: the default, or what the context leaves (at least 1)
        max_tokens = max(min(default_tokens, context - longest), 1) if chat else default_tokens
    if longest + max_tokens > context:
        param = "messages" if chat else ("prompt" if longest >= context else "max_tokens")
        raise APIError(400, f"This model's maximum context length is {context} tokens, "
                       f"however you requested {longest + max_tokens} tokens ({longest} in "
                       f"your prompt; {max_tokens} for the completion). Please reduce your "
                       "prompt or completion length.", param=param,
                       code="context_length_exceeded")
    return all_ids, max_tokens


def _start(state: _State, key: str, body: Any, all_ids: list[list[int]], max_tokens: int,
           extra_stop: tuple[str, ...] = ()) -> list[GenerationRequest]:
    state.quota.check(key, sum(len(ids) for ids in all_ids) + max_tokens * len(all_ids))
    settings = SamplingSettings(max_new_tokens=max_tokens, temperature=body.temperature,
                                top_p=body.top_p, stop=tuple(body.stop or ()) + extra_stop,
                                seed=body.seed)
    loop = asyncio.get_running_loop()
    model = state.text
    try:
        return [state.scheduler.submit(GenerationRequest(ids, settings, model.eos_token_id,
                                                         model.tokenizer.decode, loop))
                for ids in all_ids]
    except RuntimeError:
        raise APIError(503, "The service is shutting down.", type="server_error",
                       code="not_ready") from None


async def _next(request: GenerationRequest) -> Update:
    update = await request.updates.get()
    if update.error is not None:
        raise APIError(500, "The server had an error while generating.", type="server_error")
    return update


async def _finish(request: GenerationRequest) -> None:
    while (await _next(request)).finish_reason is None:
        pass


def _usage(requests: list[GenerationRequest]) -> dict[str, int]:
    prompt = sum(len(r.prompt_ids) for r in requests)
    completion = sum(len(r.generated) for r in requests)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _sse(data: Any) -> str:
    return f"data: {json.dumps(data)}\n\n"


async def _generate(state: _State, key: str, requests: list[GenerationRequest],
                    stream: bool, include_usage: bool, make_chunk, make_response):
    """Wait for the requests (or stream them); record their tokens against ``key``."""
    if not stream:
        try:
            await asyncio.gather(*(_finish(r) for r in requests))
        finally:
            for r in requests:
                r.cancel()                  # no-op when finished; frees rows if we were cancelled
            state.quota.record(key, _usage(requests)["total_tokens"])
        return JSONResponse(make_response(requests))

    async def events() -> AsyncIterator[str]:
        try:
            for index, r in enumerate(requests):
                first = True
                while True:
                    update = await _next(r)
                    if update.text or update.finish_reason or first:
                        yield _sse(make_chunk(index, update, first))
                        first = False
                    if update.finish_reason is not None:
                        break
            if include_usage:
                yield _sse(make_chunk(None, None, False) | {"choices": [],
                                                             "usage": _usage(requests)})
            yield "data: [DONE]\n\n"
        except APIError as error:              # the headers are sent: report it in the stream
            yield _sse(error.body())
        finally:                               # also when the client went away mid-stream
            for r in requests:
                r.cancel()
            state.quota.record(key, _usage(requests)["total_tokens"])

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


# --------------------------------------------------------------------------------------------
# The application
# --------------------------------------------------------------------------------------------

def create_app(config: ServiceConfig) -> FastAPI:
    """The FastAPI application; models load (and the scheduler starts) at start-up."""
    from lmcore._validate import bad_argument
    if not isinstance(config, ServiceConfig):
        raise TypeError(bad_argument("create_app", "config", config, "a ServiceConfig"))
    if config.model_folder is None and config.text_model is None:
        raise ValueError(bad_argument("create_app", "config", config,
                                      "a ServiceConfig with model_folder or text_model set"))
    state = _State(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(state.load)
        log.info("ready: %s", ", ".join(state.model_ids()))
        yield
        state.ready = False
        if state.scheduler is not None:
            await asyncio.to_thread(state.scheduler.stop, True, 30.0)
        log.info("stopped")

    app = FastAPI(title="lmcore OpenAI-compatible service", version="1.0",
                  description=__doc__, lifespan=lifespan)
    app.state.service = state
    install_handlers(app)

    def schema_of(model) -> dict:
        return {"requestBody": {"required": True, "content": {"application/json": {
            "schema": model.model_json_schema()}}}}

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready(request: Request) -> dict:
        service = _state(request)
        return {"status": "ready", "models": sorted(service.model_ids()),
                "scheduler": service.scheduler.stats()}

    @app.get("/v1/models")
    async def list_models(request: Request) -> dict:
        service = _state(request)
        service.keys.authenticate(request.headers.get("authorization"))
        return {"object": "list", "data": [
            {"id": model_id, "object": "model", "created": service.created,
             "owned_by": "lmcore", "task": kind}
            for model_id, kind in service.model_ids().items()]}

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str, request: Request) -> dict:
        service = _state(request)
        service.keys.authenticate(request.headers.get("authorization"))
        kinds = service.model_ids()
        if model_id not in kinds:
            raise APIError(404, f"The model {model_id!r} does not exist.", param="model",
                           code="model_not_found")
        return {"id": model_id, "object": "model", "created": service.created,
                "owned_by": "lmcore", "task": kinds[model_id]}

    @app.post("/v1/completions", openapi_extra=schema_of(CompletionRequest))
    async def completions(request: Request):
        service = _state(request)
        key = service.keys.authenticate(request.headers.get("authorization"))
        body = parse_body(await request.body(), CompletionRequest)
        model = service.find(body.model, "text-generation", "/v1/completions")
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        all_ids, max_tokens = _prompt_ids(service, model, prompts, body.max_tokens,
                                          DEFAULT_COMPLETION_TOKENS, chat=False)
        requests = _start(service, key, body, all_ids, max_tokens)
        ident, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
        head = {"id": ident, "object": "text_completion", "created": created,
                "model": model.id}

        def chunk(index, update, first):
            if index is None:
                return dict(head)
            return head | {"choices": [{"index": index, "text": update.text, "logprobs": None,
                                        "finish_reason": update.finish_reason}]}

        def response(requests):
            return head | {"choices": [{"index": i, "text": r.text, "logprobs": None,
                                        "finish_reason": r.finish_reason}
                                       for i, r in enumerate(requests)],
                           "usage": _usage(requests)}

        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return await _generate(service, key, requests, body.stream, include_usage, chunk,
                               response)

    @app.post("/v1/chat/completions", openapi_extra=schema_of(ChatRequest))
    async def chat_completions(request: Request):
        service = _state(request)
        key = service.keys.authenticate(request.headers.get("authorization"))
        body = parse_body(await request.body(), ChatRequest)
        model = service.find(body.model, "text-generation", "/v1/chat/completions")
        all_ids, max_tokens = _prompt_ids(service, model, [chat_prompt(body.messages)],
                                          body.max_tokens, DEFAULT_CHAT_TOKENS, chat=True)
        requests = _start(service, key, body, all_ids, max_tokens, CHAT_STOP)
        ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        head = {"id": ident, "object": "chat.completion.chunk", "created": created,
                "model": model.id}

        def chunk(index, update, first):
            if index is None:
                return dict(head)
            delta = {"role": "assistant", "content": update.text} if first else (
                {"content": update.text} if update.text else {})
            return head | {"choices": [{"index": index, "delta": delta, "logprobs": None,
                                        "finish_reason": update.finish_reason}]}

        def response(requests):
            return head | {"object": "chat.completion", "choices": [
                {"index": i, "message": {"role": "assistant", "content": r.text},
                 "logprobs": None, "finish_reason": r.finish_reason}
                for i, r in enumerate(requests)], "usage": _usage(requests)}

        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return await _generate(service, key, requests, body.stream, include_usage, chunk,
                               response)

    @app.post("/v1/embeddings", openapi_extra=schema_of(EmbeddingRequest))
    async def embeddings(request: Request):
        service = _state(request)
        key = service.keys.authenticate(request.headers.get("authorization"))
        body = parse_body(await request.body(), EmbeddingRequest)
        embedder: EmbeddingModel = service.find(body.model, "embeddings", "/v1/embeddings")
        texts = [body.input] if isinstance(body.input, str) else body.input
        tokens = embedder.count_tokens(texts)
        service.quota.check(key, tokens)
        vectors = await asyncio.to_thread(embedder.embed, texts)            # [n, d]
        service.quota.record(key, tokens)
        data = []
        for index, vector in enumerate(vectors):
            if body.encoding_format == "base64":
                value: Any = base64.b64encode(
                    vector.numpy().astype("<f4").tobytes()).decode("ascii")
            else:
                value = vector.tolist()
            data.append({"object": "embedding", "index": index, "embedding": value})
        return {"object": "list", "data": data, "model": embedder.id,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    @app.post("/v1/classifications", openapi_extra=schema_of(ClassificationRequest))
    async def classifications(request: Request):
        service = _state(request)
        key = service.keys.authenticate(request.headers.get("authorization"))
        body = parse_body(await request.body(), ClassificationRequest)
        classifier: Classifier = service.find(body.model, "classification",
                                              "/v1/classifications")
        texts = [body.input] if isinstance(body.input, str) else body.input
        tokens = classifier.count_tokens(texts)
        service.quota.check(key, tokens)
        probs = await asyncio.to_thread(classifier.probabilities, texts)   # [n, labels]
        service.quota.record(key, tokens)
        data = []
        for index, row in enumerate(probs.tolist()):
            best = int(np.argmax(row))
            data.append({"object": "classification", "index": index,
                         "label": classifier.labels[best], "score": row[best],
                         "scores": dict(zip(classifier.labels, row))})
        return {"object": "list", "model": classifier.id, "data": data,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    return app
