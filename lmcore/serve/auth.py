"""API keys and token quotas (chapter 12).

A key is a shared secret sent as ``Authorization: Bearer KEY``. It is compared with
:func:`hmac.compare_digest`, whose running time does not depend on where the first differing
byte is, so timing the answers does not reveal a key one character at a time.

A quota limits the tokens a key may use per minute (prompt plus completion tokens, what
``usage.total_tokens`` reports). The window slides: a request is refused with 429 when the
tokens the key used in the last 60 seconds, plus what this request could use at most
(its prompt and ``max_tokens``), exceed the limit. After the request the tokens it really
used are recorded. This is the policy of the OpenAI API's token rate limits, simplified.
"""

from __future__ import annotations

import collections
import hmac
import math
import threading
import time
from typing import Callable, Iterable, Optional

from lmcore._validate import bad_argument
from lmcore.serve.errors import APIError

__all__ = ["KeyRing", "TokenQuota", "ANONYMOUS"]

ANONYMOUS = ""   # the key name used when the service runs without keys


class KeyRing:
    """The accepted API keys; with none, every request is let in as :data:`ANONYMOUS`."""

    def __init__(self, keys: Iterable[str] = ()):
        keys = list(keys)
        for key in keys:
            if not isinstance(key, str) or not key:
                raise ValueError(bad_argument("KeyRing", "keys", key, "non-empty strings"))
        self._keys = [key.encode() for key in keys]

    @property
    def required(self) -> bool:
        return bool(self._keys)

    def authenticate(self, authorization: Optional[str]) -> str:
        """The key of the ``Authorization`` header, or an :class:`APIError` 401."""
        if not self._keys:
            return ANONYMOUS
        if not authorization or not authorization.startswith("Bearer "):
            raise APIError(401, "You didn't provide an API key. Send it in the Authorization "
                           "header as 'Bearer KEY'.", code="invalid_api_key",
                           headers={"WWW-Authenticate": "Bearer"})
        given = authorization.removeprefix("Bearer ").strip().encode()
        # compare with every key, each in constant time: no early exit reveals which matched
        matched = [hmac.compare_digest(given, key) for key in self._keys]
        if not any(matched):
            raise APIError(401, "Incorrect API key provided.", code="invalid_api_key",
                           headers={"WWW-Authenticate": "Bearer"})
        return given.decode()


class TokenQuota:
    """At most ``tokens_per_minute`` tokens per key in any sliding 60-second window.

    ``clock`` (default :func:`time.monotonic`) can be replaced in tests."""

    window = 60.0

    def __init__(self, tokens_per_minute: Optional[int] = None,
                 clock: Callable[[], float] = time.monotonic):
        if tokens_per_minute is not None and (isinstance(tokens_per_minute, bool) or not
                                              isinstance(tokens_per_minute, int)
                                              or tokens_per_minute < 1):
            raise ValueError(bad_argument("TokenQuota", "tokens_per_minute", tokens_per_minute,
                                          "an int >= 1 or None (no quota)"))
        self.limit = tokens_per_minute
        self.clock = clock
        self._used: dict[str, collections.deque] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def used(self, key: str) -> int:
        """Tokens ``key`` used in the last minute."""
        with self._lock:
            return self._prune(key)

    def _prune(self, key: str) -> int:
        now, entries = self.clock(), self._used[key]
        while entries and entries[0][0] <= now - self.window:
            entries.popleft()
        return sum(tokens for _, tokens in entries)

    def check(self, key: str, requested: int) -> None:
        """Raise a 429 :class:`APIError` if ``requested`` more tokens would pass the limit."""
        if self.limit is None:
            return
        with self._lock:
            used = self._prune(key)
            if used + requested <= self.limit:
                return
            entries = self._used[key]
            wait = (entries[0][0] + self.window - self.clock()) if entries else self.window
        raise APIError(429, f"Rate limit reached on tokens per minute: limit {self.limit}, "
                       f"used {used}, requested {requested}. Please try again in "
                       f"{max(wait, 0):.1f}s.", type="tokens", code="rate_limit_exceeded",
                       headers={"Retry-After": str(max(1, math.ceil(wait)))})

    def record(self, key: str, tokens: int) -> None:
        if self.limit is not None and tokens > 0:
            with self._lock:
                self._used[key].append((self.clock(), tokens))
