"""Words as vectors: co-occurrence counts, cosine similarity and PPMI (chapter 3).

A word is described by the company it keeps. Count, for every pair of words (w, c), how often
c occurs within ``window`` positions of w; row w of that matrix is the word's vector. Two words
are similar when their rows point in similar directions:

    sim(w_i, w_j) = sum_k p(w_i,w_k) p(w_j,w_k)
                    / ( sqrt(sum_k p(w_i,w_k)^2) * sqrt(sum_k p(w_j,w_k)^2) )

which is the cosine of the angle between the two rows. Raw counts are dominated by frequent
context words ("the", "and"), so the rows are reweighted by positive pointwise mutual
information, with the context distribution smoothed by the exponent alpha = 0.75:

    PPMI(w, c) = max(0, log( p(w, c) / (p(w) p_alpha(c)) )),   p_alpha(c) = n(c)^alpha / sum_c' n(c')^alpha
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

import numpy as np

from lmcore._validate import bad_argument, check_int, check_number, closest

__all__ = ["cosine_similarity", "cooccurrence_matrix", "cooccurrence_probabilities", "ppmi",
           "nearest_neighbors", "similarity_matrix", "truncated_svd"]

MAX_VOCAB = 20_000  # a dense V x V float64 matrix of 20k words is 3.2 GB: stop before that


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def cosine_similarity(a: Any, b: Any) -> Any:
    """Cosine of the angle between ``a`` and ``b``: a.b / (|a| |b|).

    Two 1-D vectors give a ``float``. Two 2-D arrays of the same shape ``[n, d]`` give the ``n``
    cosines of their rows, pair by pair (an array, or a tensor if either input is a tensor).
    A zero vector has no direction, so its cosine is undefined: ``ValueError``.
    """
    use_torch = _is_torch(a) or _is_torch(b)
    if use_torch:
        import torch
        a_t = torch.as_tensor(a, dtype=torch.float64 if not torch.is_tensor(a) else None)
        b_t = torch.as_tensor(b, dtype=a_t.dtype)
        a_t = a_t.to(torch.promote_types(a_t.dtype, torch.float32))
        b_t = b_t.to(a_t.dtype)
        shape_a, shape_b = tuple(a_t.shape), tuple(b_t.shape)
    else:
        try:
            a_n = np.asarray(a, dtype=np.float64)
            b_n = np.asarray(b, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError("The arguments of cosine_similarity must be numeric arrays or "
                            f"tensors. Got {type(a).__name__} and {type(b).__name__}.") from None
        shape_a, shape_b = a_n.shape, b_n.shape
    if shape_a != shape_b:
        raise ValueError(f"cosine_similarity needs 'a' and 'b' of the same shape. "
                         f"Got {shape_a} and {shape_b}.")
    if len(shape_a) not in (1, 2):
        raise ValueError(f"cosine_similarity takes two 1-D vectors or two 2-D arrays (row by "
                         f"row). Got arrays of shape {shape_a}.")
    if shape_a[-1] == 0:
        raise ValueError(f"cosine_similarity needs vectors with at least one component. "
                         f"Got shape {shape_a}.")

    if use_torch:
        dot = (a_t * b_t).sum(-1)
        norm_a, norm_b = a_t.norm(dim=-1), b_t.norm(dim=-1)
        zero_a, zero_b = (norm_a == 0), (norm_b == 0)
    else:
        dot = (a_n * b_n).sum(-1)
        norm_a, norm_b = np.linalg.norm(a_n, axis=-1), np.linalg.norm(b_n, axis=-1)
        zero_a, zero_b = (norm_a == 0), (norm_b == 0)
    for name, zero in (("a", zero_a), ("b", zero_b)):
        if bool(zero.any()):
            if len(shape_a) == 1:
                where = f"'{name}' is the zero vector"
            else:
                rows = [int(i) for i in (zero.nonzero()[0] if not use_torch
                                         else zero.nonzero().flatten())][:5]
                where = f"row(s) {rows} of '{name}' are zero vectors"
            raise ValueError(f"cosine_similarity is undefined for a zero vector: {where} "
                             "(it has no direction).")
    cosine = dot / (norm_a * norm_b)
    if len(shape_a) == 1:
        return float(cosine)
    return cosine


def _check_tokens(function: str, tokens: Any) -> list[str]:
    if isinstance(tokens, str):
        raise TypeError(bad_argument(function, "tokens", tokens,
                                     "a list of words (e.g. lmcore.word_tokens(text)), not one "
                                     "string"))
    if not isinstance(tokens, (list, tuple)):
        raise TypeError(bad_argument(function, "tokens", tokens, "a list of words (str)"))
    if len(tokens) == 0:
        raise ValueError(f"The 'tokens' argument of {function} is an empty corpus: "
                         "there is nothing to count.")
    for position, token in enumerate(tokens[:1000]):
        if not isinstance(token, str):
            raise TypeError(f"The 'tokens' argument of {function} must hold only str; "
                            f"position {position} holds {token!r} ({type(token).__name__}).")
    return list(tokens)


def cooccurrence_matrix(tokens: Sequence[str], window: int = 2,
                        vocab: Sequence[str] | Mapping[str, int] | None = None,
                        min_count: int = 1) -> tuple[np.ndarray, dict[str, int]]:
    """Count how often each pair of words occurs within ``window`` positions of each other.

    Returns ``(counts, vocab)``: ``counts[vocab[w], vocab[c]]`` is the number of times ``c``
    occurs at a distance of 1 to ``window`` positions (on either side) from an occurrence of
    ``w``. The matrix is symmetric. Without ``vocab``, the vocabulary is every word seen at
    least ``min_count`` times, most frequent first. Words outside the vocabulary are not counted
    but still take up their positions, so distances are distances in the real text.
    """
    fn = "cooccurrence_matrix"
    tokens = _check_tokens(fn, tokens)
    check_int(fn, "window", window, minimum=1)
    check_int(fn, "min_count", min_count, minimum=1)

    if vocab is None:
        frequency = Counter(tokens)
        words = sorted((w for w, n in frequency.items() if n >= min_count),
                       key=lambda w: (-frequency[w], w))
        if not words:
            raise ValueError(f"No word of the corpus occurs min_count={min_count} times "
                             f"(the most frequent occurs {max(frequency.values())} times).")
        index = {w: i for i, w in enumerate(words)}
    elif isinstance(vocab, Mapping):
        index = dict(vocab)
        if sorted(index.values()) != list(range(len(index))):
            raise ValueError(bad_argument(fn, "vocab", vocab,
                                          "a mapping of words to the rows 0..V-1, each once"))
    elif isinstance(vocab, (list, tuple)) and all(isinstance(w, str) for w in vocab):
        if len(set(vocab)) != len(vocab):
            duplicated = [w for w, n in Counter(vocab).items() if n > 1][:5]
            raise ValueError(f"The 'vocab' argument of {fn} lists words more than once: "
                             f"{duplicated}.")
        index = {w: i for i, w in enumerate(vocab)}
    else:
        raise TypeError(bad_argument(fn, "vocab", vocab,
                                     "None, a list of words or a dict word -> row"))
    size = len(index)
    if size == 0:
        raise ValueError(f"The 'vocab' argument of {fn} is empty.")
    if size > MAX_VOCAB:
        raise ValueError(f"{fn} would build a dense {size:,} x {size:,} matrix "
                         f"({size * size * 8 / 1e9:.1f} GB). Pass a larger min_count or an "
                         f"explicit vocab of at most {MAX_VOCAB:,} words.")

    ids = np.fromiter((index.get(t, -1) for t in tokens), dtype=np.int64, count=len(tokens))
    flat_pairs = []  # row * size + column of every (word, neighbour) pair
    for distance in range(1, window + 1):
        left, right = ids[:-distance], ids[distance:]
        both = (left >= 0) & (right >= 0)
        flat_pairs.append(left[both] * size + right[both])  # the right neighbour of `left`
        flat_pairs.append(right[both] * size + left[both])  # the left neighbour of `right`
    counts = np.bincount(np.concatenate(flat_pairs), minlength=size * size)
    return counts.reshape(size, size), index


def _check_matrix(function: str, matrix: Any, name: str = "counts",
                  finite_check: bool = True) -> np.ndarray:
    if _is_torch(matrix):
        matrix = matrix.detach().cpu().numpy()
    if isinstance(matrix, np.ndarray) and matrix.dtype.kind in "fiu" and not finite_check:
        array = matrix
        if array.ndim != 2:
            raise ValueError(f"The {name!r} argument of {function} must be a 2-D array. "
                             f"Got shape {array.shape} instead.")
        return array
    try:
        array = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(bad_argument(function, name, type(matrix).__name__,
                                     "a 2-D numeric array")) from None
    if array.ndim != 2:
        raise ValueError(f"The {name!r} argument of {function} must be a 2-D array. "
                         f"Got shape {array.shape} instead.")
    if not np.isfinite(array).all():
        raise ValueError(f"The {name!r} argument of {function} holds NaN or infinite values.")
    return array


def cooccurrence_probabilities(counts: Any) -> np.ndarray:
    """p(w_i, w_k) = n(w_i, w_k) / sum of all counts: the joint probability of the pair."""
    array = _check_matrix("cooccurrence_probabilities", counts)
    if (array < 0).any():
        raise ValueError("The 'counts' argument of cooccurrence_probabilities must not be "
                         "negative.")
    total = array.sum()
    if total == 0:
        raise ValueError("The 'counts' argument of cooccurrence_probabilities is all zeros.")
    return array / total


def ppmi(counts: Any, alpha: float = 0.75) -> np.ndarray:
    """Positive pointwise mutual information of a count matrix (rows: words, columns: contexts).

    PPMI(w, c) = max(0, log(p(w, c) / (p(w) p_alpha(c)))), where p_alpha smooths the context
    distribution (alpha = 1: no smoothing; alpha = 0.75 as in word2vec and Levy et al. 2015).
    Pairs never seen, and whole zero rows or columns, get 0: never negative, never NaN.
    """
    array = _check_matrix("ppmi", counts)
    check_number("ppmi", "alpha", alpha, positive=True, maximum=1.0)
    if (array < 0).any():
        raise ValueError("The 'counts' argument of ppmi must be counts (non-negative).")
    total = array.sum()
    if total == 0:
        return np.zeros_like(array)
    p_joint = array / total
    p_word = array.sum(axis=1, keepdims=True) / total               # [V, 1]
    context = array.sum(axis=0, keepdims=True) ** alpha              # [1, C]
    p_context = context / context.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(p_joint / (p_word * p_context))
    pmi[~np.isfinite(pmi) | (array == 0)] = 0.0
    return np.maximum(pmi, 0.0)


def similarity_matrix(rows: Any) -> np.ndarray:
    """Cosine similarity of every row with every row, ``[V, V]``; zero rows give 0."""
    array = _check_matrix("similarity_matrix", rows, name="rows")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    unit = np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)
    return unit @ unit.T


def nearest_neighbors(word: str, matrix: Any, vocab: Mapping[str, int],
                      k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` words whose rows have the largest cosine similarity with ``word``'s row.

    Returns ``[(neighbour, similarity), ...]``, most similar first, without ``word`` itself.
    Ties are broken alphabetically so the list is reproducible. An unknown word raises
    ``KeyError`` naming the closest words that exist.
    """
    fn = "nearest_neighbors"
    if not isinstance(vocab, Mapping):
        raise TypeError(bad_argument(fn, "vocab", vocab, "a dict word -> row"))
    if not isinstance(word, str):
        raise TypeError(bad_argument(fn, "word", word, "a str"))
    check_int(fn, "k", k, minimum=1)
    array = _check_matrix(fn, matrix, name="matrix", finite_check=False)
    if array.shape[0] != len(vocab):
        raise ValueError(f"{fn}: 'matrix' has {array.shape[0]} rows but 'vocab' has "
                         f"{len(vocab)} words.")
    if word not in vocab:
        hint = closest(word, vocab)
        raise KeyError(f"{word!r} is not in the vocabulary of {len(vocab):,} words."
                       + (f" Closest words that are: {', '.join(hint)}." if hint else ""))
    row = vocab[word]
    norms = np.linalg.norm(array, axis=1)
    if norms[row] == 0:
        raise ValueError(f"{fn}: the row of {word!r} is all zeros (it has no contexts), so it "
                         "has no direction and no neighbours.")
    with np.errstate(divide="ignore", invalid="ignore"):
        sims = np.where(norms > 0, (array @ array[row]) / (norms * norms[row]), 0.0)
    if not np.isfinite(sims).all():
        raise ValueError(f"The 'matrix' argument of {fn} holds NaN or infinite values.")
    return _top_k(sims, row, vocab, k)


def _top_k(sims: np.ndarray, row: int, vocab: Mapping[str, int],
           k: int) -> list[tuple[str, float]]:
    """The k largest similarities except ``row`` itself; ties broken alphabetically."""
    sims = sims.astype(np.float64, copy=True)
    sims[row] = -np.inf
    k = min(k, len(sims) - 1)
    if k <= 0:
        return []
    kth = np.partition(sims, len(sims) - k)[len(sims) - k]
    candidates = np.flatnonzero(sims >= kth - 1e-12)
    words = _row_words(vocab)
    # round before ranking so that values equal up to floating-point noise count as ties
    ranked = sorted(candidates, key=lambda i: (-round(float(sims[i]), 12), words[i]))[:k]
    return [(words[i], float(sims[i])) for i in ranked]


_ROW_WORDS_CACHE: dict[int, tuple[Mapping[str, int], list[str]]] = {}


def _row_words(vocab: Mapping[str, int]) -> list[str]:
    """words[i] is the word of row i (cached per vocabulary object)."""
    cached = _ROW_WORDS_CACHE.get(id(vocab))
    if cached is None or cached[0] is not vocab or len(cached[1]) != len(vocab):
        words = [""] * len(vocab)
        for w, i in vocab.items():
            words[i] = w
        cached = (vocab, words)
        _ROW_WORDS_CACHE[id(vocab)] = cached
    return cached[1]


def truncated_svd(matrix: Any, k: int = 2) -> np.ndarray:
    """Coordinates of the rows in the best rank-``k`` subspace: U_k S_k of the SVD.

    Signs are fixed (the largest entry of each column of U_k is positive) so that the picture is
    the same on every machine.
    """
    array = _check_matrix("truncated_svd", matrix, name="matrix")
    check_int("truncated_svd", "k", k, minimum=1)
    if k > min(array.shape):
        raise ValueError(f"The 'k' argument of truncated_svd must be at most "
                         f"min(matrix.shape) = {min(array.shape)}. Got {k} instead.")
    u, s, _ = np.linalg.svd(array, full_matrices=False)
    u, s = u[:, :k], s[:k]
    signs = np.sign(u[np.abs(u).argmax(axis=0), np.arange(k)])
    signs[signs == 0] = 1
    return u * signs * s
