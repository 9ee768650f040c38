"""Training byte-pair encoding on a corpus (chapter 2; Sennrich et al. 2016).

The algorithm, on the corpus's chunks (GPT-2's pre-tokenization, so merges stay inside
words) written as byte sequences:

1. count every adjacent pair of tokens, each chunk weighted by how often it occurs;
2. the most frequent pair (a, b) becomes a new token ab, appended to the merge list;
3. replace every adjacent a, b by ab, and repeat until the vocabulary has ``vocab_size`` tokens.

Ties in step 2 go to the pair whose first token's bytes sort first, then the second's, so the
result does not depend on dictionary order. Only the chunks that contain (a, b) change in
step 3, so after a merge only their pair counts are updated (a heap keeps the counts ordered):
that makes training on a whole corpus take seconds instead of hours, with the same result as
recounting everything each time (the chapter checks this against a plain version).
"""

from __future__ import annotations

import heapq
from collections import Counter
from typing import Iterable

from lmcore._validate import bad_argument, check_int
from lmcore.tokenize.byte_bpe import ByteLevelBPE, bytes_to_unicode
from lmcore.tokenize.pretokenize import gpt2_pattern

__all__ = ["train_bpe", "merge_pair"]


def merge_pair(word: list[int], first: int, second: int, new: int) -> list[int]:
    """``word`` with every adjacent ``first, second`` (left to right) replaced by ``new``."""
    merged, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == first and word[i + 1] == second:
            merged.append(new)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


def _chunk_counts(texts: str | Iterable[str]) -> Counter[str]:
    if isinstance(texts, str):
        texts = [texts]
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(bad_argument("train_bpe", "texts", texts, "a str or a list of str")) from None
    pattern = gpt2_pattern()
    counts: Counter[str] = Counter()
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(bad_argument("train_bpe", "texts", texts, "a str or a list of str")
                            + f" Element {position} is a {type(text).__name__}.")
        counts.update(pattern.findall(text))
    return counts


def train_bpe(texts: str | Iterable[str], vocab_size: int,
              special_tokens: Iterable[str] = ()) -> ByteLevelBPE:
    """Learn a byte-level BPE tokenizer with ``vocab_size`` tokens from ``texts``.

    The first 256 ids are the single bytes (id = byte value); each merge adds one token, in
    the order learned; ``special_tokens`` get the ids after those. If the corpus runs out of
    pairs first, the vocabulary is smaller than asked for. Returns a :class:`ByteLevelBPE`, the
    same class as GPT-2's tokenizer.
    """
    check_int("train_bpe", "vocab_size", vocab_size, minimum=256)
    special_tokens = list(special_tokens)
    chunk_counts = _chunk_counts(texts)
    words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]   # each chunk as token ids
    frequency = list(chunk_counts.values())
    token_bytes = [bytes([b]) for b in range(256)]                      # id -> its bytes
    id_of = {bytes_: i for i, bytes_ in enumerate(token_bytes)}

    # pair counts over all chunks, and which chunks contain each pair
    pair_counts: Counter[tuple[int, int]] = Counter()
    chunks_with: dict[tuple[int, int], set[int]] = {}
    for w, word in enumerate(words):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += frequency[w]
            chunks_with.setdefault(pair, set()).add(w)
    heap = [(-n, token_bytes[a], token_bytes[b], a, b) for (a, b), n in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[int, int]] = []
    while len(token_bytes) + len(special_tokens) < vocab_size and heap:
        negative_count, _, _, a, b = heapq.heappop(heap)
        if pair_counts.get((a, b), 0) != -negative_count:
            continue  # an out-of-date entry: this pair's count has changed since
        merged_bytes = token_bytes[a] + token_bytes[b]
        new = id_of.get(merged_bytes)
        if new is None:  # (two merge paths can reach the same bytes: keep one id for them)
            new = id_of[merged_bytes] = len(token_bytes)
            token_bytes.append(merged_bytes)
        merges.append((a, b))
        changed = set()
        for w in chunks_with.pop((a, b)):
            word, n = words[w], frequency[w]
            for pair in zip(word, word[1:]):          # take the chunk's pairs out ...
                pair_counts[pair] -= n
                changed.add(pair)
            word[:] = merge_pair(word, a, b, new)
            for pair in zip(word, word[1:]):          # ... and put the merged chunk's back
                pair_counts[pair] += n
                chunks_with.setdefault(pair, set()).add(w)
                changed.add(pair)
        for pair in changed:
            if pair_counts[pair] > 0:
                heapq.heappush(heap, (-pair_counts[pair], token_bytes[pair[0]],
                                      token_bytes[pair[1]], *pair))
            else:
                del pair_counts[pair]
                chunks_with.pop(pair, None)

    symbol = bytes_to_unicode()
    as_text = [''.join(symbol[b] for b in bytes_) for bytes_ in token_bytes]
    encoder = {text: i for i, text in enumerate(as_text)}
    special = {token: len(as_text) + k for k, token in enumerate(special_tokens)}
    return ByteLevelBPE(encoder, [(as_text[a], as_text[b]) for a, b in merges],
                        special_tokens=special)
