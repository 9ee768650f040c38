"""BERT's two pretraining objectives: masked language modelling and next-sentence prediction
(chapter 8; Devlin et al. 2019).

Masked language modelling (MLM)
    :func:`mask_tokens` chooses 15% of the positions that are not special tokens; of the chosen
    ones, 80% become ``[MASK]``, 10% a random token and 10% stay as they are. The model must
    predict the original token at every chosen position, and only there: :func:`mlm_loss` is
    the mean negative log-likelihood over those positions::

        L_MLM = -(1/|M|) sum_{i in M} log softmax(z_i)[x_i]          (the MLM loss)

Next-sentence prediction (NSP)
    :func:`nsp_pairs` builds sentence pairs from documents, half of them consecutive (IsNext),
    half with a second sentence from another document (NotNext). Each side is one sentence:
    this is the SENTENCE-PAIR input of Liu et al. (2019, RoBERTa, section 4.2), not BERT's
    own, which packs several consecutive sentences into each of two segments of up to 512
    tokens in all. :func:`nsp_loss` is the
    cross-entropy of the two-way classifier on ``[CLS]``::

        L_NSP = -(1/B) sum_b log softmax(s_b)[y_b]                    (the NSP loss)

    with class 0 = IsNext and class 1 = NotNext, the convention of Google's BERT code and of
    Hugging Face's ``BertForPreTraining`` (so their NSP heads can be loaded as they are).

Labels use ``-100`` for "no prediction here", the ``ignore_index`` of
``torch.nn.functional.cross_entropy``; the tests check every loss against that function.
"""

from __future__ import annotations

import random
from typing import Any, Iterable, Sequence

import torch

from lmcore._validate import bad_argument, check_int, check_number

__all__ = ["IGNORE_INDEX", "mask_tokens", "mlm_loss", "nsp_loss", "nsp_pairs", "NSPPair"]

IGNORE_INDEX = -100  # label of a position where no prediction is asked


def _integer_tensor(function: str, name: str, value: Any, min_dim: int = 1) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.dtype.is_floating_point or value.is_complex() \
            or value.dtype == torch.bool:
        raise TypeError(bad_argument(function, name, value, "an integer torch tensor"))
    if value.dim() < min_dim:
        raise ValueError(bad_argument(function, name, value,
                                      f"a tensor with at least {min_dim} dimension(s)"))
    return value


def mask_tokens(input_ids: torch.Tensor, mask_token_id: int, vocab_size: int,
                special_token_ids: Iterable[int], mask_prob: float = 0.15,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking for MLM, on integer tensors of any shape ``[..., seq_len]``.

    Which positions are chosen: Google's recipe (``create_pretraining_data.py``), not a
    per-position coin flip. Each sequence (the last dimension) gets exactly
    ``max(1, round(mask_prob * n))`` chosen positions, drawn uniformly without replacement
    among its ``n`` non-special positions (none if ``n == 0``). Why this one: the number of
    predictions per sequence does not fluctuate, so no sequence of a batch ever has zero
    predictions (a per-position Bernoulli, as in Hugging Face's collator, leaves a sequence of
    10 tokens with nothing to predict 20% of the time), and it is the recipe of the paper the
    chapter follows. (Google's code counts ``[CLS]``/``[SEP]`` in ``n``; here ``n`` counts only
    the positions that can be chosen, so padding does not change how many are chosen.)

    What the chosen positions become: 80% ``mask_token_id``, 10% a token drawn uniformly from
    the non-special ids of the vocabulary, 10% left unchanged.

    Returns ``(masked_input_ids, labels)``, both shaped like ``input_ids``: ``labels`` holds the
    original id at the chosen positions and -100 everywhere else. Special tokens are never
    chosen or changed; ``input_ids`` is not modified; a seeded ``torch.Generator`` makes the
    result deterministic (without one, torch's global generator is used).
    """
    fn = "mask_tokens"
    input_ids = _integer_tensor(fn, "input_ids", input_ids)
    vocab_size = check_int(fn, "vocab_size", vocab_size, minimum=1)
    mask_token_id = check_int(fn, "mask_token_id", mask_token_id, minimum=0)
    if mask_token_id >= vocab_size:
        raise ValueError(bad_argument(fn, "mask_token_id", mask_token_id,
                                      f"an id < vocab_size ({vocab_size})"))
    if isinstance(special_token_ids, (str, bytes)) or not isinstance(special_token_ids, Iterable):
        raise TypeError(bad_argument(fn, "special_token_ids", special_token_ids,
                                     "an iterable of token ids"))
    specials = sorted({check_int(fn, "special_token_ids", int(i) if isinstance(i, torch.Tensor) else i,
                                 minimum=0) for i in special_token_ids})
    mask_prob = check_number(fn, "mask_prob", mask_prob, positive=True, maximum=1.0)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(bad_argument(fn, "generator", generator, "a torch.Generator or None"))
    if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) >= vocab_size):
        bad = input_ids[(input_ids < 0) | (input_ids >= vocab_size)][0].item()
        raise ValueError(bad_argument(fn, "input_ids", bad,
                                      f"ids in [0, vocab_size) = [0, {vocab_size})"))
    ordinary = torch.ones(vocab_size, dtype=torch.bool)
    ordinary[[i for i in specials if i < vocab_size]] = False
    ordinary_ids = ordinary.nonzero().flatten()  # the ids a random replacement is drawn from
    if len(ordinary_ids) == 0:
        raise ValueError(bad_argument(fn, "special_token_ids", specials,
                                      "ids that leave at least one ordinary token in the vocabulary"))

    shape = input_ids.shape
    rows = input_ids.reshape(-1, shape[-1])                      # [R, T], R = product of batch dims
    can_choose = ~torch.isin(rows, torch.tensor(specials, dtype=rows.dtype))  # [R, T]
    n = can_choose.sum(dim=1)                                    # [R]
    k = torch.where(n > 0, torch.clamp(torch.round(mask_prob * n).long(), min=1), 0)  # [R]
    # k positions per row uniformly without replacement: rank random scores, specials last
    scores = torch.rand(rows.shape, generator=generator)
    scores[~can_choose] = 2.0
    ranks = scores.argsort(dim=1).argsort(dim=1)                 # [R, T], 0 = smallest score
    chosen = ranks < k[:, None]                                  # [R, T]

    action = torch.rand(rows.shape, generator=generator)         # 80% / 10% / 10%
    to_mask = chosen & (action < 0.8)
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    random_ids = ordinary_ids[torch.randint(len(ordinary_ids), rows.shape, generator=generator)]

    masked = rows.clone()
    masked[to_mask] = mask_token_id
    masked[to_random] = random_ids[to_random].to(rows.dtype)
    labels = torch.full_like(rows, IGNORE_INDEX)
    labels[chosen] = rows[chosen]
    return masked.reshape(shape), labels.reshape(shape)


def _cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean of -log softmax(logits)[target] over rows: logits [N, C], targets [N]."""
    log_probs = logits - torch.logsumexp(logits, dim=-1, keepdim=True)   # [N, C]
    return -log_probs.gather(1, targets[:, None]).squeeze(1).mean()


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the positions whose label is not -100 (the MLM loss).

    ``logits``: float ``[..., vocab_size]``; ``labels``: integer ``[...]`` (the shape of
    ``logits`` without its last dimension). Positions labelled -100 (not chosen, padding) have
    no effect at all on the value or the gradient. A batch with no labelled position is an
    error, not a silent NaN.
    """
    fn = "mlm_loss"
    if not isinstance(logits, torch.Tensor) or not logits.dtype.is_floating_point or logits.dim() < 2:
        raise TypeError(bad_argument(fn, "logits", logits,
                                     "a float tensor of shape [..., vocab_size]"))
    labels = _integer_tensor(fn, "labels", labels)
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"The 'labels' argument of mlm_loss must have the shape of logits without "
                         f"its last dimension, {tuple(logits.shape[:-1])}. Got {tuple(labels.shape)} instead.")
    vocab_size = logits.shape[-1]
    flat_logits = logits.reshape(-1, vocab_size)                 # [N, V]
    flat_labels = labels.reshape(-1)                             # [N]
    counted = flat_labels != IGNORE_INDEX
    if not bool(counted.any()):
        raise ValueError("The 'labels' argument of mlm_loss has no position to predict: every "
                         "label is -100, so the mean over masked positions is undefined. Mask at "
                         "least one position (mask_tokens always does for a sequence with an "
                         "ordinary token).")
    targets = flat_labels[counted]
    if int(targets.min()) < 0 or int(targets.max()) >= vocab_size:
        bad = targets[(targets < 0) | (targets >= vocab_size)][0].item()
        raise ValueError(bad_argument(fn, "labels", bad,
                                      f"-100 or a token id in [0, {vocab_size})"))
    return _cross_entropy(flat_logits[counted], targets)


def nsp_loss(logits: torch.Tensor, is_next: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the next-sentence classifier (the NSP loss).

    ``logits``: float ``[batch, 2]``, column 0 scoring IsNext and column 1 NotNext (Google's
    and Hugging Face's convention); ``is_next``: ``[batch]`` booleans (or 0/1 integers),
    true where the second sentence really follows the first. The target class is therefore
    ``0`` for IsNext and ``1`` for NotNext.
    """
    fn = "nsp_loss"
    if not isinstance(logits, torch.Tensor) or not logits.dtype.is_floating_point \
            or logits.dim() != 2 or logits.shape[1] != 2:
        raise TypeError(bad_argument(fn, "logits", logits, "a float tensor of shape [batch, 2]"))
    if not isinstance(is_next, torch.Tensor) or is_next.dtype.is_floating_point \
            or is_next.shape != logits.shape[:1]:
        raise TypeError(bad_argument(fn, "is_next", is_next,
                                     f"a boolean tensor of shape [{logits.shape[0]}]"))
    if is_next.dtype != torch.bool:
        if bool(((is_next != 0) & (is_next != 1)).any()):
            raise ValueError(bad_argument(fn, "is_next", is_next, "booleans or 0/1 integers"))
        is_next = is_next.bool()
    if logits.shape[0] == 0:
        raise ValueError(bad_argument(fn, "logits", logits, "a batch of at least one pair"))
    targets = (~is_next).long()                                  # IsNext -> 0, NotNext -> 1
    return _cross_entropy(logits, targets)


class NSPPair(tuple):
    """``(sentence_a, sentence_b, is_next)``; ``is_next`` is True when b follows a."""
    __slots__ = ()

    def __new__(cls, a: Any, b: Any, is_next: bool):
        return super().__new__(cls, (a, b, bool(is_next)))

    a = property(lambda self: self[0])
    b = property(lambda self: self[1])
    is_next = property(lambda self: self[2])


def nsp_pairs(documents: Sequence[Sequence[Any]], num_pairs: int, seed: int = 0) -> list[NSPPair]:
    """Single-sentence pairs for next-sentence prediction (chapter 8).

    ``documents`` is a list of documents, each a list of sentences (strings or token lists).
    For each pair a document with at least two sentences and a position ``i`` in it are drawn;
    ``a`` is sentence ``i``; with probability 1/2, ``b`` is sentence ``i + 1`` (IsNext),
    otherwise a random sentence of a different document (NotNext). Deterministic for a seed.

    The IsNext/NotNext rule is BERT's, but each side is a single sentence: this is the
    SENTENCE-PAIR setting of RoBERTa's ablation (Liu et al. 2019, section 4.2), which they
    found hurts downstream tasks. BERT itself fills each of its two segments with as many
    consecutive sentences as fit (up to 512 tokens for the pair), which gives the model
    longer contexts to learn from.
    """
    fn = "nsp_pairs"
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise TypeError(bad_argument(fn, "documents", documents, "a list of documents (lists of sentences)"))
    num_pairs = check_int(fn, "num_pairs", num_pairs, minimum=1)
    seed = check_int(fn, "seed", seed, minimum=0)
    long_docs = [d for d, doc in enumerate(documents) if len(doc) >= 2]
    other_docs = [d for d, doc in enumerate(documents) if len(doc) >= 1]
    if not long_docs or len(other_docs) < 2:
        raise ValueError(bad_argument(fn, "documents", f"{len(documents)} documents",
                                      "at least two non-empty documents, one with two sentences or more"))
    rng = random.Random(seed)
    pairs = []
    for _ in range(num_pairs):
        d = rng.choice(long_docs)
        i = rng.randrange(len(documents[d]) - 1)
        if rng.random() < 0.5:
            pairs.append(NSPPair(documents[d][i], documents[d][i + 1], True))
        else:
            other = d
            while other == d:
                other = rng.choice(other_docs)
            pairs.append(NSPPair(documents[d][i], rng.choice(documents[other]), False))
    return pairs
