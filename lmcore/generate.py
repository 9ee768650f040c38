"""Generating text with a causal language model (chapter 11): decoding strategies.

A causal language model gives, for every prefix ``x_1..x_t``, a distribution over the next
token, ``P(x_{t+1} | x_1..x_t) = softmax(z_t)`` from the logits ``z_t`` (``[vocab]``). A
decoding strategy turns these distributions into text, one token at a time::

    greedy         x_{t+1} = argmax_v z_t[v]
    temperature    P_T(v) = softmax(z_t / T)[v]            T < 1 sharper, T > 1 flatter
    top-k          keep the k largest logits, the rest -> -inf, then renormalise
    top-p          keep the smallest set of most likely tokens whose probability sums to
                   >= p: drop the longest tail of unlikely tokens with total mass <= 1 - p
    beam search    keep the num_beams prefixes with the largest summed log-probability
                   sum_t log P(x_{t+1} | x_1..x_t), extending every one by every token

Sampling applies temperature, then top-k, then top-p (the order of ``transformers``), and
draws from the renormalised distribution. :func:`top_k_filter` and :func:`top_p_filter` keep
the same tokens as ``transformers``' ``TopKLogitsWarper`` and ``TopPLogitsWarper`` (at least
one token is always kept); :func:`generate`'s greedy and beam search give the tokens of
``transformers``' ``generate`` on the same GPT-2 weights (``tests/test_generate.py``).

With ``use_cache=True`` each step feeds only the newest token and the keys and values of the
earlier positions come from the decoder's KV cache (:class:`lmcore.transformer.GPTDecoder`),
which gives the same tokens as recomputing the whole prefix every step, much faster.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from torch import Tensor

from lmcore._validate import bad_argument, check_int, check_number

__all__ = ["generate", "top_k_filter", "top_p_filter", "next_token_probabilities",
           "distinct_n", "repeated_ngrams"]


def _check_logits(function: str, logits: Any) -> Tensor:
    if not isinstance(logits, Tensor) or not logits.is_floating_point() or logits.dim() < 1:
        shown = (f"a tensor of shape {list(logits.shape)}, dtype {logits.dtype}"
                 if isinstance(logits, Tensor) else logits)
        raise ValueError(bad_argument(function, "logits", shown,
                                      "a floating-point tensor [..., vocab]"))
    return logits


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """``logits`` ``[..., vocab]`` with all but the ``k`` largest entries of
    each row set to ``-inf`` (ties with the k-th largest are kept, as in
    ``transformers``). ``k`` larger than the vocabulary keeps everything."""
    logits = _check_logits("top_k_filter", logits)
    k = min(check_int("top_k_filter", "k", k, minimum=1), logits.shape[-1])
    kth_largest = torch.topk(logits, k, dim=-1).values[..., -1:]  # [..., 1]
    return logits.masked_fill(logits < kth_largest, float("-inf"))


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """``logits`` ``[..., vocab]`` keeping the nucleus, the most likely tokens
    whose probability sums to at least ``p``: the longest tail of least likely
    tokens whose total probability is at most ``1 - p`` is set to ``-inf``
    (the most likely token always stays)."""
    logits = _check_logits("top_p_filter", logits)
    p = check_number("top_p_filter", "p", p, positive=True, maximum=1.0)
    # ascending [..., vocab]; tail_mass: this token and all below it
    sorted_logits, order = torch.sort(logits, dim=-1)
    tail_mass = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    remove_sorted = tail_mass <= 1 - p
    remove_sorted[..., -1] = False       # the most likely token always stays
    # back to vocabulary order
    remove = remove_sorted.scatter(-1, order, remove_sorted)
    return logits.masked_fill(remove, float("-inf"))


def next_token_probabilities(logits: Tensor, temperature: float = 1.0,
                             top_k: Optional[int] = None,
                             top_p: Optional[float] = None) -> Tensor:
    """The distribution sampling draws from: ``softmax`` of the logits ``[..., vocab]``
    divided by ``temperature``, after :func:`top_k_filter` and then :func:`top_p_filter`
    (each only if given); removed tokens get probability 0, the kept ones are renormalised."""
    logits = _check_logits("next_token_probabilities", logits)
    temperature = check_number("next_token_probabilities", "temperature", temperature,
                               positive=True)
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return torch.softmax(logits.float(), dim=-1)


def _check_generate(model, input_ids, max_new_tokens, do_sample, temperature, top_k, top_p,
                    num_beams, eos_token_id, use_cache, generator, attention_mask):
    from lmcore.transformer import GPTDecoder
    name = "generate"
    if not isinstance(model, GPTDecoder):
        raise TypeError(bad_argument(name, "model", type(model).__name__,
                                     "an lmcore.transformer.GPTDecoder"))
    if (not isinstance(input_ids, Tensor) or input_ids.dim() != 2 or input_ids.shape[1] < 1
            or input_ids.is_floating_point()):
        shown = (f"a tensor of shape {list(input_ids.shape)}, dtype {input_ids.dtype}"
                 if isinstance(input_ids, Tensor) else input_ids)
        raise ValueError(bad_argument(name, "input_ids", shown,
                                      "an integer tensor [batch, n] with n >= 1"))
    check_int(name, "max_new_tokens", max_new_tokens, minimum=1)
    n, context = input_ids.shape[1], model.config.max_positions
    if n > context:
        raise ValueError(bad_argument(name, "input_ids", f"a prompt of {n} tokens",
                                      f"at most the model's context, {context} tokens"))
    if n + max_new_tokens > context:
        raise ValueError(bad_argument(name, "max_new_tokens", max_new_tokens,
                                      f"at most {context - n} (the context of {context} "
                                      f"tokens minus the prompt's {n})"))
    for flag, value in (("do_sample", do_sample), ("use_cache", use_cache)):
        if not isinstance(value, bool):
            raise TypeError(bad_argument(name, flag, value, "a bool"))
    check_number(name, "temperature", temperature, positive=True)
    if top_k is not None:
        check_int(name, "top_k", top_k, minimum=1)
    if top_p is not None:
        check_number(name, "top_p", top_p, positive=True, maximum=1.0)
    check_int(name, "num_beams", num_beams, minimum=1)
    if num_beams > 1 and do_sample:
        raise ValueError(bad_argument(name, "do_sample", do_sample,
                                      "False when num_beams > 1 (beam search is deterministic)"))
    if eos_token_id is not None:
        check_int(name, "eos_token_id", eos_token_id, minimum=0)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(bad_argument(name, "generator", generator, "a torch.Generator or None"))
    if attention_mask is not None and (not isinstance(attention_mask, Tensor)
                                       or attention_mask.shape != input_ids.shape):
        shown = (f"a tensor of shape {list(attention_mask.shape)}"
                 if isinstance(attention_mask, Tensor) else attention_mask)
        raise ValueError(bad_argument(name, "attention_mask", shown,
                                      f"a 0/1 tensor of the shape of input_ids, "
                                      f"{list(input_ids.shape)}"))


def _next_logits(model, ids: Tensor, mask: Optional[Tensor], past, use_cache: bool):
    """The logits for the token after ``ids`` ([batch, vocab]) and the updated cache."""
    if not use_cache:
        return model(ids, attention_mask=mask)[:, -1], None
    new = ids if past is None else ids[:, -1:]           # the prompt first, then one token
    out = model(new, attention_mask=mask, past_key_values=past, use_cache=True)
    return out.logits[:, -1], out.past_key_values


def generate(model, input_ids: Tensor, max_new_tokens: int, *, do_sample: bool = False,
             temperature: float = 1.0, top_k: Optional[int] = None,
             top_p: Optional[float] = None, num_beams: int = 1,
             eos_token_id: Optional[int] = None, use_cache: bool = True,
             generator: Optional[torch.Generator] = None,
             attention_mask: Optional[Tensor] = None) -> Tensor:
    """Continue ``input_ids`` ``[batch, n]`` by up to ``max_new_tokens`` tokens.

    Returns ``[batch, n + new]`` (the prompt included, as ``transformers``' ``generate``).
    Greedy by default; ``do_sample=True`` samples with ``temperature``, ``top_k`` and
    ``top_p`` (drawing with ``generator`` for reproducibility); ``num_beams > 1`` runs beam
    search (summed log-probabilities, no length normalisation) and returns each row's best
    beam. A row that produces ``eos_token_id`` stops there and is filled with
    ``eos_token_id`` until every row has stopped (beam search: a finished beam keeps its
    score and competes with the live ones). ``attention_mask`` ``[batch, n]`` (0 = padding)
    lets rows of different lengths share a left-padded batch. ``use_cache`` feeds one token
    per step and reuses the keys and values of the earlier positions; the tokens are the
    same either way. The model is run in evaluation mode without gradients.
    """
    _check_generate(model, input_ids, max_new_tokens, do_sample, temperature, top_k, top_p,
                    num_beams, eos_token_id, use_cache, generator, attention_mask)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            if num_beams > 1:
                return _beam_search(model, input_ids, max_new_tokens, num_beams, eos_token_id,
                                    use_cache, attention_mask)
            return _sample_or_greedy(model, input_ids, max_new_tokens, do_sample, temperature,
                                     top_k, top_p, eos_token_id, use_cache, generator,
                                     attention_mask)
    finally:
        model.train(was_training)


def _extend_mask(mask: Optional[Tensor]) -> Optional[Tensor]:
    if mask is None:
        return None
    return torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=1)   # [batch, n + 1]


def _sample_or_greedy(model, ids, max_new_tokens, do_sample, temperature, top_k, top_p,
                      eos_token_id, use_cache, generator, mask) -> Tensor:
    finished = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)   # [batch]
    past = None
    for _ in range(max_new_tokens):
        logits, past = _next_logits(model, ids, mask, past, use_cache)         # [batch, vocab]
        if do_sample:
            probs = next_token_probabilities(logits, temperature, top_k, top_p)  # [batch, V]
            token = torch.multinomial(probs, 1, generator=generator)[:, 0]     # [batch]
        else:
            token = logits.argmax(dim=-1)                                       # [batch]
        if eos_token_id is not None:
            token = token.masked_fill(finished, eos_token_id)   # stopped rows: filler
            finished |= token == eos_token_id
        ids = torch.cat([ids, token[:, None]], dim=1)                           # [batch, n+1]
        mask = _extend_mask(mask)
        if eos_token_id is not None and bool(finished.all()):
            break
    return ids


def _beam_search(model, ids, max_new_tokens, num_beams, eos_token_id, use_cache,
                 mask) -> Tensor:
    batch, n = ids.shape
    k = num_beams
    ids = ids.repeat_interleave(k, dim=0)                               # [batch * k, n]
    mask = None if mask is None else mask.repeat_interleave(k, dim=0)
    # all k beams start as the same prompt: only the first may expand at step 1
    scores = torch.full((batch, k), float("-inf"), device=ids.device)
    scores[:, 0] = 0.0                                                  # [batch, k]
    finished = torch.zeros(batch * k, dtype=torch.bool, device=ids.device)
    past = None
    for _ in range(max_new_tokens):
        logits, past = _next_logits(model, ids, mask, past, use_cache)  # [batch * k, vocab]
        logp = torch.log_softmax(logits.float(), dim=-1)                # [batch * k, vocab]
        if eos_token_id is not None:                    # a finished beam: eos for free
            logp[finished] = float("-inf")
            logp[finished, eos_token_id] = 0.0
        vocab = logp.shape[-1]
        candidates = (scores[:, :, None] + logp.view(batch, k, vocab)).view(batch, k * vocab)
        scores, flat = torch.topk(candidates, k, dim=-1)                # [batch, k] each
        beam = flat // vocab                                            # which parent beam
        token = (flat % vocab).view(-1)                                 # [batch * k]
        parent = (beam + torch.arange(batch, device=ids.device)[:, None] * k).view(-1)
        ids = torch.cat([ids[parent], token[:, None]], dim=1)           # [batch * k, n + 1]
        mask = None if mask is None else _extend_mask(mask[parent])
        if past is not None:
            past = tuple((key[parent], value[parent]) for key, value in past)
        if eos_token_id is not None:
            finished = finished[parent] | (token == eos_token_id)
            if bool(finished.all()):
                break
    best = scores.argmax(dim=-1) + torch.arange(batch, device=ids.device) * k   # [batch]
    return ids[best]


# --------------------------------------------------------------------------------------------
# Measuring degeneration (repetition) of generated text
# --------------------------------------------------------------------------------------------

def _ngrams(function: str, tokens: Any, n: int) -> list[tuple]:
    check_int(function, "n", n, minimum=1)
    if isinstance(tokens, Tensor):
        tokens = tokens.tolist()
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, (list, tuple)):
        raise TypeError(bad_argument(function, "tokens", tokens, "a list of tokens"))
    if len(tokens) < n:
        raise ValueError(bad_argument(function, "tokens", f"{len(tokens)} tokens",
                                      f"at least n = {n} tokens"))
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(tokens: Sequence[Any], n: int) -> float:
    """distinct-n (Li et al., 2016): the number of different n-grams in ``tokens`` divided by
    the number of n-grams, ``|set(ngrams)| / (len(tokens) - n + 1)``; 1 when no n-gram
    repeats, near 0 for text stuck in a loop."""
    grams = _ngrams("distinct_n", tokens, n)
    return len(set(grams)) / len(grams)


def repeated_ngrams(tokens: Sequence[Any], n: int = 4) -> float:
    """The fraction of the n-grams of ``tokens`` that already occurred earlier in it
    (``1 - distinct_n``, Welleck et al.'s seq-rep-n, 2019)."""
    return 1.0 - distinct_n(tokens, n)
