"""The request bodies the service accepts, with the OpenAI API's field names (chapter 12).

Each model validates strictly (a string is not a number, ``1.5`` is not an int), ignores
fields it does not know (clients send extras such as ``user``), and turns every problem into
a 400 with an OpenAI error body through :func:`parse_body`. Ranges follow the OpenAI
reference: ``temperature`` in [0, 2] (0 = greedy), ``top_p`` in (0, 1], ``max_tokens`` >= 1,
at most 4 ``stop`` strings. Checks that need the model (the context length) are made later,
in :mod:`lmcore.serve.app`.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lmcore.serve.errors import APIError, validation_message

__all__ = ["CompletionRequest", "ChatMessage", "ChatRequest", "EmbeddingRequest",
           "ClassificationRequest", "parse_body", "MAX_STOP", "MAX_TOKENS_LIMIT"]

MAX_STOP = 4                 # stop strings per request, as in the OpenAI API
MAX_TOKENS_LIMIT = 4096      # an upper bound before the model's own context is checked


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class StreamOptions(_Strict):
    include_usage: bool = False     # a last chunk with ``usage`` and no choices


class _Sampling(_Strict):
    model: str = Field(min_length=1)
    max_tokens: Optional[int] = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0, allow_inf_nan=False)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, allow_inf_nan=False)
    stop: Optional[Union[str, list[str]]] = None
    seed: Optional[int] = None
    stream: bool = False
    stream_options: Optional[StreamOptions] = None
    n: int = Field(default=1, ge=1, le=1)     # one choice per prompt

    @field_validator("stop")
    @classmethod
    def _stop_strings(cls, value):
        if value is None:
            return []
        stops = [value] if isinstance(value, str) else value
        if len(stops) > MAX_STOP:
            raise ValueError(f"at most {MAX_STOP} stop strings are allowed")
        if any(not s for s in stops):
            raise ValueError("stop strings must not be empty")
        return stops

    @field_validator("seed")
    @classmethod
    def _seed_range(cls, value):
        if value is not None and not 0 <= value < 2 ** 63:
            raise ValueError("the seed must be in [0, 2**63)")
        return value


class CompletionRequest(_Sampling):
    """``POST /v1/completions``: a prompt (a string or a list of strings) to continue."""
    prompt: Union[str, list[str]]

    @field_validator("prompt")
    @classmethod
    def _prompt_list(cls, value):
        if isinstance(value, list) and not value:
            raise ValueError("the list of prompts must not be empty")
        return value


class ChatMessage(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(_Sampling):
    """``POST /v1/chat/completions``: a conversation; the reply is the next assistant turn."""
    messages: list[ChatMessage] = Field(min_length=1)


class EmbeddingRequest(_Strict):
    """``POST /v1/embeddings``: a string or a non-empty list of non-empty strings.

    ``encoding_format`` ``"float"`` gives lists of numbers; ``"base64"`` (what the official
    Python client asks for by default) the little-endian float32 bytes, base64-encoded."""
    model: str = Field(min_length=1)
    input: Union[str, list[str]]
    encoding_format: Literal["float", "base64"] = "float"

    @field_validator("input")
    @classmethod
    def _non_empty(cls, value):
        texts = [value] if isinstance(value, str) else value
        if not texts:
            raise ValueError("the input must not be an empty list")
        if any(not text for text in texts):
            raise ValueError("the input must not contain empty strings")
        return value


class ClassificationRequest(_Strict):
    """``POST /v1/classifications`` (lmcore's own endpoint): texts to label."""
    model: str = Field(min_length=1)
    input: Union[str, list[str]]

    _non_empty = field_validator("input")(EmbeddingRequest._non_empty.__func__)


def parse_body(raw: bytes, schema: type[_Strict]) -> Any:
    """The validated request, or an :class:`APIError` 400 naming the parameter at fault."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise APIError(400, "We could not parse the JSON body of your request. The body must "
                       "be a JSON object (see the API reference).") from None
    if not isinstance(data, dict):
        raise APIError(400, f"The request body must be a JSON object; got a JSON "
                       f"{type(data).__name__}.")
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        message, param = validation_message(error.errors(include_url=False))
        raise APIError(400, message, param=param) from None
