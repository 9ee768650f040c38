"""Continuous batching: concurrent requests decoded together through one model (chapter 12).

A decoder spends most of a step reading its weights; a step for 16 sequences costs little
more than a step for one. :class:`BatchScheduler` runs one thread that owns the model and
repeats, while there is work:

1. **join**: requests that arrived since the last step (at most ``max_batch_size`` in all)
   are *prefilled* together: their prompts, left-padded to one length, go through the
   decoder once (``use_cache=True``), which gives each its first token and its KV cache;
2. **merge**: their caches are left-padded to the running batch's length and stacked under
   it; the attention mask ``[batch, n]`` (0 = padding) hides the padded keys, and each row's
   positions count from its first real token, so a row's logits are the ones it would get
   alone (chapter 11's left-padded cache);
3. **step**: the last token of every row goes through the decoder with the cache
   (``[batch, 1]``); each row picks its next token with *its own* settings (temperature 0 =
   greedy, top-p, its own seeded generator);
4. **leave**: rows that finished (``max_tokens``, the end-of-text token or one of their stop
   strings) or whose client went away are dropped from the batch (cache rows and mask rows
   removed); columns that only padding still uses are trimmed.

``max_batch_size=1`` is the unbatched server: one request at a time, first come first
served (what ``bench/bench_serve.py`` compares against).

Text goes back to each request as it is made. A stop string can only be recognised once it
is complete, so the last ``len(longest stop) - 1`` characters are held back until the next
token, and so are the replacement characters of an incomplete UTF-8 sequence at the end:
the pieces a streaming client receives concatenate to exactly the final text.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import threading
from typing import Any, Callable, Optional, Sequence as Seq

import torch
from torch import Tensor

from lmcore._validate import bad_argument, check_int
from lmcore.generate import top_p_filter

__all__ = ["SamplingSettings", "Update", "GenerationRequest", "BatchScheduler",
           "choose_next_token"]

log = logging.getLogger("lmcore.serve")


@dataclasses.dataclass(frozen=True)
class SamplingSettings:
    """How one request picks its tokens and when it stops."""
    max_new_tokens: int = 16
    temperature: float = 1.0          # 0 = greedy (argmax)
    top_p: float = 1.0                # nucleus: the smallest set of tokens with mass >= top_p
    stop: tuple[str, ...] = ()
    seed: Optional[int] = None


@dataclasses.dataclass
class Update:
    """A piece of a request's answer: new text, and at the end why it stopped."""
    text: str
    finish_reason: Optional[str] = None     # None while running; "stop" or "length" at the end
    completion_tokens: int = 0              # tokens generated so far
    error: Optional[str] = None             # set if the scheduler failed on this request


def choose_next_token(logits: Tensor, temperature: float, top_p: float,
                      generator: Optional[torch.Generator]) -> int:
    """One token id from the logits ``[vocab]`` of one row, as :func:`lmcore.generate` picks it.

    ``temperature == 0``: the argmax (greedy). Otherwise ``softmax(logits / T)``, restricted to
    the nucleus of mass ``top_p`` (:func:`lmcore.generate.top_p_filter`) when ``top_p < 1``,
    and one token drawn with ``generator``; with the same generator state this is the token
    ``generate(..., do_sample=True, temperature=T, top_p=top_p, generator=g)`` draws.
    """
    if temperature == 0:
        return int(torch.argmax(logits))
    logits = logits[None] / temperature                                   # [1, vocab]
    if top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    probs = torch.softmax(logits.float(), dim=-1)                         # [1, vocab]
    return int(torch.multinomial(probs, 1, generator=generator)[0, 0])


class GenerationRequest:
    """One prompt's generation, shared by the request handler and the scheduler thread.

    The handler reads :class:`Update` objects from ``updates`` (an ``asyncio.Queue``) and calls
    :meth:`cancel` if its client goes away."""

    def __init__(self, prompt_ids: Seq[int], settings: SamplingSettings,
                 eos_token_id: Optional[int], decode: Callable[[list[int]], str],
                 loop: Optional[asyncio.AbstractEventLoop] = None):
        if not prompt_ids:
            raise ValueError(bad_argument("GenerationRequest", "prompt_ids", prompt_ids,
                                          "a non-empty list of token ids"))
        check_int("GenerationRequest", "settings.max_new_tokens", settings.max_new_tokens, 1)
        self.prompt_ids = list(prompt_ids)
        self.settings = settings
        self.eos_token_id = eos_token_id
        self.decode = decode
        self.generated: list[int] = []
        self.sent = 0                              # characters of text already sent
        self.finish_reason: Optional[str] = None
        self.text = ""                             # the final text once finished
        self.loop = loop
        self.updates: asyncio.Queue = asyncio.Queue() if loop is not None else None
        self.received: list[Update] = []           # without a loop (tests, benchmarks)
        self.done = threading.Event()
        self._cancelled = threading.Event()
        self.generator = None
        if settings.temperature > 0:
            self.generator = torch.Generator()
            if settings.seed is not None:
                self.generator.manual_seed(settings.seed)
            else:
                self.generator.seed()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Ask the scheduler to drop this request at its next step (the client went away)."""
        self._cancelled.set()

    def _send(self, update: Update) -> None:
        if update.finish_reason is not None or update.error is not None:
            self.done.set()
        if self.loop is None:
            self.received.append(update)
            return
        try:
            self.loop.call_soon_threadsafe(self.updates.put_nowait, update)
        except RuntimeError:       # the event loop is closed: nobody is listening any more
            self._cancelled.set()

    def add_token(self, token: int) -> None:
        """Record the next token, decide whether the request is finished, send new text."""
        settings = self.settings
        self.generated.append(token)
        hit_eos = token == self.eos_token_id
        text = self.decode(self.generated[:-1] if hit_eos else self.generated)
        stops = [i for i in (text.find(s) for s in settings.stop) if i >= 0]
        if stops:
            text, reason = text[:min(stops)], "stop"
        elif hit_eos:
            reason = "stop"
        elif len(self.generated) >= settings.max_new_tokens:
            reason = "length"
        else:
            reason = None
        if reason is None:  # hold back what a stop string or a UTF-8 sequence may still change
            hold = max((len(s) for s in settings.stop), default=1) - 1
            safe = text.rstrip("\ufffd")
            safe = safe[:max(len(safe) - hold, 0)]
            if len(safe) > self.sent:
                self._send(Update(safe[self.sent:], None, len(self.generated)))
                self.sent = len(safe)
            return
        self.finish_reason, self.text = reason, text
        self._send(Update(text[self.sent:], reason, len(self.generated)))
        self.sent = len(text)

    def fail(self, message: str) -> None:
        self.finish_reason = "error"
        self._send(Update("", None, len(self.generated), error=message))


class BatchScheduler:
    """Decodes the requests given to :meth:`submit` in continuous batches (see the module).

    ``model`` is a :class:`lmcore.transformer.GPTDecoder`; ``max_batch_size`` bounds the rows
    decoded together (1 = no batching). :meth:`start` starts the thread, :meth:`stop` ends it
    after the requests in flight (graceful) or at once.
    """

    def __init__(self, model: Any, max_batch_size: int = 16, pad_token_id: int = 0):
        check_int("BatchScheduler", "max_batch_size", max_batch_size, minimum=1)
        self.model = model
        self.max_batch_size = max_batch_size
        self.pad_token_id = pad_token_id
        self._pending: collections.deque[GenerationRequest] = collections.deque()
        self._condition = threading.Condition()
        self._stopping = False
        self._thread: Optional[threading.Thread] = None
        # the running batch: its requests, the KV cache and the attention mask
        self._rows: list[GenerationRequest] = []
        self._cache: Optional[list[tuple[Tensor, Tensor]]] = None   # per layer [b, h, n, dh]
        self._mask: Optional[Tensor] = None                         # [b, n]
        self.steps = 0                      # decoder calls made (prefills and steps)
        self.largest_batch = 0              # the most rows decoded together so far
        self.dropped = 0                    # requests dropped because their client left

    # -- the request side ------------------------------------------------------------------
    def submit(self, request: GenerationRequest) -> GenerationRequest:
        with self._condition:
            if self._stopping:
                raise RuntimeError("The scheduler is stopping; it takes no new requests.")
            self._pending.append(request)
            self._condition.notify()
        return request

    @property
    def busy(self) -> int:
        """Requests waiting or being decoded."""
        return len(self._pending) + len(self._rows)

    def stats(self) -> dict[str, int]:
        """What ``GET /ready`` reports: the work in hand and what batching achieved so far."""
        return {"busy": self.busy, "decoder_calls": self.steps,
                "largest_batch": self.largest_batch, "max_batch_size": self.max_batch_size,
                "dropped": self.dropped}

    def start(self) -> "BatchScheduler":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lmcore-batch-scheduler",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, drain: bool = True, timeout: Optional[float] = None) -> None:
        """Stop taking requests; finish those in flight (``drain``) or drop them; join."""
        with self._condition:
            self._stopping = True
            if not drain:
                for request in list(self._pending) + self._rows:
                    request.cancel()
            self._condition.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the scheduler thread --------------------------------------------------------------
    def _run(self) -> None:
        with torch.inference_mode():
            while True:
                with self._condition:
                    while not self._pending and not self._rows and not self._stopping:
                        self._condition.wait()
                    if self._stopping and not self._pending and not self._rows:
                        return
                    joining = []
                    while self._pending and len(self._rows) + len(joining) < self.max_batch_size:
                        joining.append(self._pending.popleft())
                try:
                    self._iteration([r for r in joining if not r.cancelled])
                except Exception as error:   # never leave a request waiting forever
                    log.exception("the batch scheduler failed")
                    for request in self._rows + joining:
                        if not request.done.is_set():
                            request.fail(f"{type(error).__name__}: {error}")
                    self._rows, self._cache, self._mask = [], None, None

    def _iteration(self, joining: list[GenerationRequest]) -> None:
        if joining:
            self._prefill(joining)
        self._leave()
        if self._rows:
            self._step()
            self._leave()

    def _prefill(self, joining: list[GenerationRequest]) -> None:
        """Run the new prompts (left-padded) once; each gets its first token and its cache."""
        n = max(len(r.prompt_ids) for r in joining)
        ids = torch.full((len(joining), n), self.pad_token_id, dtype=torch.long)  # [b, n]
        mask = torch.zeros((len(joining), n), dtype=torch.long)                  # [b, n]
        for row, request in enumerate(joining):
            k = len(request.prompt_ids)
            ids[row, n - k:] = torch.tensor(request.prompt_ids)
            mask[row, n - k:] = 1
        output = self.model(ids, attention_mask=None if bool(mask.all()) else mask,
                            use_cache=True)
        self.steps += 1
        self.largest_batch = max(self.largest_batch, len(joining))
        for row, request in enumerate(joining):
            settings = request.settings
            request.add_token(choose_next_token(output.logits[row, -1], settings.temperature,
                                                settings.top_p, request.generator))
        self._merge(joining, [tuple(kv) for kv in output.past_key_values], mask)

    def _merge(self, joining: list[GenerationRequest], cache: list[tuple[Tensor, Tensor]],
               mask: Tensor) -> None:
        """Stack the joining rows under the running batch, left-padding the shorter cache."""
        if not self._rows:
            self._rows, self._cache, self._mask = list(joining), list(cache), mask
            return
        n_old, n_new = self._mask.shape[1], mask.shape[1]
        n = max(n_old, n_new)

        def left_pad(t: Tensor, length: int) -> Tensor:        # pad the sequence axis on the left
            if t.shape[-2 if t.dim() == 4 else -1] == length:
                return t
            if t.dim() == 4:                                       # [b, h, n, dh]
                pad = t.new_zeros(t.shape[0], t.shape[1], length - t.shape[2], t.shape[3])
                return torch.cat([pad, t], dim=2)
            return torch.cat([t.new_zeros(t.shape[0], length - t.shape[1]), t], dim=1)

        self._cache = [(torch.cat([left_pad(k0, n), left_pad(k1, n)]),
                        torch.cat([left_pad(v0, n), left_pad(v1, n)]))
                       for (k0, v0), (k1, v1) in zip(self._cache, cache)]
        self._mask = torch.cat([left_pad(self._mask, n), left_pad(mask, n)])
        self._rows = self._rows + list(joining)

    def _step(self) -> None:
        """Every row's last token through the decoder with the cache; each picks its next."""
        last = torch.tensor([[r.generated[-1]] for r in self._rows])        # [b, 1]
        mask = torch.cat([self._mask, self._mask.new_ones(len(self._rows), 1)], dim=1)
        output = self.model(last, attention_mask=None if bool(mask.all()) else mask,
                            past_key_values=self._cache, use_cache=True)
        self.steps += 1
        self.largest_batch = max(self.largest_batch, len(self._rows))
        self._cache, self._mask = [tuple(kv) for kv in output.past_key_values], mask
        for row, request in enumerate(self._rows):
            settings = request.settings
            request.add_token(choose_next_token(output.logits[row, -1], settings.temperature,
                                                settings.top_p, request.generator))

    def _leave(self) -> None:
        """Drop finished and cancelled rows; trim columns that are padding in every row."""
        keep = []
        for i, request in enumerate(self._rows):
            if request.finish_reason is None and not request.cancelled:
                keep.append(i)
            elif request.finish_reason is None:
                self.dropped += 1
                log.info("dropped a request whose client went away after %d of %d tokens",
                         len(request.generated), request.settings.max_new_tokens)
        if len(keep) == len(self._rows):
            return
        if not keep:
            self._rows, self._cache, self._mask = [], None, None
            return
        index = torch.tensor(keep)
        mask = self._mask.index_select(0, index)                            # [b', n]
        start = int((mask.cumsum(dim=1) == 0).sum(dim=1).min())           # shared left padding
        self._mask = mask[:, start:]
        self._cache = [(k.index_select(0, index)[:, :, start:],
                        v.index_select(0, index)[:, :, start:]) for k, v in self._cache]
        self._rows = [self._rows[i] for i in keep]
