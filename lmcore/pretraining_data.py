"""BERT's pretraining data, from documents to masked batches (chapter 9).

The pipeline of Devlin et al. (2019) and Google's ``create_pretraining_data.py``:

1. **a tokenizer from the corpus** -- :func:`train_wordpiece` learns a WordPiece vocabulary
   with the book's own BPE trainer (chapter 2, :func:`lmcore.tokenize.train_bpe`) on the
   corpus's BERT-normalised words: a piece that starts a word is stored as it is, a piece
   inside a word with the prefix ``##`` (this is also how Hugging Face's WordPiece trainer
   works: BPE merges, WordPiece inference);
2. **documents -> sentences -> token ids** (:func:`tokenize_documents`);
3. **segments packed up to the maximum length** (:func:`make_instances`): sentences of one
   document are gathered until they fill ``max_length - 3`` tokens (room for
   ``[CLS] A [SEP] B [SEP]``); the chunk is cut at a random sentence boundary into segment A
   and segment B. With probability 1/2 B is the true continuation (IsNext); otherwise B is
   taken from a random *other* document (NotNext) and the unused sentences go back to be
   used for the next instance. A pair that is too long is trimmed one token at a time from
   the longer segment, at its front or back at random. With probability ``short_seq_prob``
   the target length is drawn shorter, so the model also sees short inputs;
4. **dynamic masking** (:class:`PretrainingBatches`): every epoch draws fresh masks with
   :func:`lmcore.pretrain.mask_tokens` (15%: 80% [MASK], 10% random, 10% unchanged), RoBERTa's
   improvement on BERT's fixed masks (Liu et al. 2019); padding, [CLS] and [SEP] are never
   masked;
5. **padding and batching**: each batch is padded to its longest sequence with ``[PAD]``,
   ``attention_mask`` is 1 on tokens and 0 on padding, MLM labels are -100 except at the
   masked positions, NSP labels are True for IsNext.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from typing import Any, Iterable, Iterator, Sequence

import torch

from lmcore._validate import bad_argument, check_int, check_number
from lmcore.pretrain import IGNORE_INDEX, mask_tokens

__all__ = ["train_wordpiece", "tokenize_documents", "Instance", "make_instances",
           "PretrainingBatches", "collate", "word_overlap", "most_frequent_token",
           "pretraining_loss", "evaluate_pretraining", "overlap_baseline", "fill_mask"]


# --------------------------------------------------------------------------------------------
# 1. A WordPiece vocabulary learned with the book's BPE trainer
# --------------------------------------------------------------------------------------------

def train_wordpiece(texts: Iterable[str], vocab_size: int, lowercase: bool = True):
    """A :class:`lmcore.tokenize.WordPiece` with ``vocab_size`` entries learned from ``texts``.

    The words (BERT's normalisation and pre-tokenisation, chapter 2) are given to
    :func:`lmcore.tokenize.train_bpe`; each word's BPE pieces become WordPiece entries (the
    first as it is, the others with ``##``), weighted by the word's frequency. The vocabulary
    is the five special tokens, every character seen (alone and as ``##c``, so no seen word
    is ever [UNK]), then the most frequent multi-character pieces until ``vocab_size``.
    """
    from lmcore.tokenize import WordPiece, train_bpe
    from lmcore.tokenize.wordpiece import SPECIAL_TOKENS, bert_normalize, bert_pretokenize
    check_int("train_wordpiece", "vocab_size", vocab_size, minimum=300)
    if isinstance(texts, str):
        texts = [texts]
    words: Counter[str] = Counter()
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(bad_argument("train_wordpiece", "texts", text,
                                         "a string or an iterable of strings"))
        words.update(bert_pretokenize(bert_normalize(text, lowercase)))
    if not words:
        raise ValueError(bad_argument("train_wordpiece", "texts", texts, "some text"))
    # BPE on the distinct words, one per line, each repeated as often as it occurs would be
    # the same as weighting; train_bpe counts chunks itself, so give it the words with counts.
    bpe = train_bpe(("\n".join([w] * n) for w, n in words.items()), vocab_size)
    pieces: Counter[str] = Counter()
    characters: set[str] = set()
    for word, n in words.items():
        characters.update(word)
        for position, token_id in enumerate(bpe.encode(word)):
            try:
                piece = bpe.token_bytes(token_id).decode("utf-8")
            except UnicodeDecodeError:
                continue                      # part of a character: covered by the characters
            if len(piece) > 1:
                pieces["##" + piece if position else piece] += n
    vocab = list(SPECIAL_TOKENS)
    for c in sorted(characters):
        vocab.extend([c, "##" + c])
    vocab = list(dict.fromkeys(vocab))
    seen = set(vocab)
    for piece, _ in sorted(pieces.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= vocab_size:
            break
        if piece not in seen:
            vocab.append(piece)
            seen.add(piece)
    return WordPiece(vocab, lowercase=lowercase)


# --------------------------------------------------------------------------------------------
# 2-3. Documents -> sentences -> packed segment pairs
# --------------------------------------------------------------------------------------------

def tokenize_documents(documents: Sequence[str], tokenizer: Any) -> list[list[list[int]]]:
    """``[document][sentence] -> token ids`` (sentences by :func:`lmcore.data.sentences`;
    empty sentences dropped)."""
    from lmcore.data import sentences
    out = []
    for d, text in enumerate(documents):
        if not isinstance(text, str):
            raise TypeError(bad_argument("tokenize_documents", f"documents[{d}]", text,
                                         "a string"))
        ids = [tokenizer.encode(s) for s in sentences(text)]
        out.append([s for s in ids if s])
    return out


@dataclasses.dataclass(frozen=True)
class Instance:
    """One NSP pair before masking: token ids of segments A and B, whether B follows A, and
    the indices of the documents A and B come from (-1 when unknown)."""
    a: tuple[int, ...]
    b: tuple[int, ...]
    is_next: bool
    a_document: int = -1
    b_document: int = -1


def _trim(a: list[int], b: list[int], max_tokens: int, rng: random.Random) -> None:
    """Google's truncate_seq_pair: drop tokens from the longer segment, front or back."""
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def make_instances(documents: Sequence[Sequence[Sequence[int]]], max_length: int,
                   seed: int = 0, short_seq_prob: float = 0.1) -> list[Instance]:
    """NSP instances packed up to ``max_length`` tokens with [CLS] and two [SEP] (step 3).

    ``documents[d][s]`` is the token ids of sentence ``s`` of document ``d`` (at least two
    documents, for NotNext partners). Half of the pairs (in expectation) are IsNext.
    """
    name = "make_instances"
    check_int(name, "max_length", max_length, minimum=8)
    check_number(name, "short_seq_prob", short_seq_prob, minimum=0.0, maximum=1.0)
    docs = [list(map(list, d)) for d in documents]
    if sum(1 for d in docs if d) < 2:
        raise ValueError(bad_argument(name, "documents", f"{len(docs)} documents",
                                      "at least two non-empty documents (NotNext needs another)"))
    rng = random.Random(seed)
    max_tokens = max_length - 3
    instances: list[Instance] = []
    for d, document in enumerate(docs):
        target = max_tokens if rng.random() >= short_seq_prob else rng.randint(2, max_tokens)
        chunk: list[list[int]] = []
        length = 0
        i = 0
        while i < len(document):
            chunk.append(document[i])
            length += len(document[i])
            if i == len(document) - 1 or length >= target:
                if chunk:
                    is_next = rng.random() < 0.5
                    if is_next and len(chunk) == 1 and i + 1 < len(document):
                        i += 1                      # one long sentence: B is the next one
                        chunk.append(document[i])
                    a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
                    a = [t for s in chunk[:a_end] for t in s]
                    b_document = d
                    if len(chunk) == 1 or not is_next:              # NotNext
                        is_next = False
                        target_b = max(1, target - len(a))
                        other = rng.randrange(len(docs) - 1)
                        other += other >= d                          # any document but d
                        while not docs[other]:
                            other = rng.randrange(len(docs))
                            if other == d:
                                other = (d + 1) % len(docs)
                        b_document = other
                        start = rng.randrange(len(docs[other]))
                        b = []
                        for s in docs[other][start:]:
                            b.extend(s)
                            if len(b) >= target_b:
                                break
                        i -= len(chunk) - a_end                     # put the unused back
                    else:                                           # IsNext
                        is_next = True
                        b = [t for s in chunk[a_end:] for t in s]
                    _trim(a, b, max_tokens, rng)
                    if a and b:
                        instances.append(Instance(tuple(a), tuple(b), is_next, d,
                                                  b_document))
                chunk, length = [], 0
                target = max_tokens if rng.random() >= short_seq_prob else rng.randint(
                    2, max_tokens)
            i += 1
    rng.shuffle(instances)
    return instances


# --------------------------------------------------------------------------------------------
# 4-5. Masking, padding, batching
# --------------------------------------------------------------------------------------------

def collate(instances: Sequence[Instance], tokenizer: Any, mask_prob: float = 0.15,
            generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """One padded, masked batch: ``input_ids``, ``token_type_ids``, ``attention_mask``
    ``[batch, n]``, ``mlm_labels`` ``[batch, n]`` (-100 where nothing is predicted),
    ``original_ids`` (before masking) and ``is_next`` ``[batch]`` (bool)."""
    if not instances:
        raise ValueError(bad_argument("collate", "instances", instances, "a non-empty list"))
    cls, sep, pad = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    rows = [[cls, *x.a, sep, *x.b, sep] for x in instances]
    n = max(len(r) for r in rows)
    ids = torch.full((len(rows), n), pad, dtype=torch.long)                 # [batch, n]
    types = torch.zeros((len(rows), n), dtype=torch.long)
    attention = torch.zeros((len(rows), n), dtype=torch.long)
    for r, (row, x) in enumerate(zip(rows, instances)):
        ids[r, :len(row)] = torch.tensor(row)
        types[r, len(x.a) + 2:len(row)] = 1                                 # B and its [SEP]
        attention[r, :len(row)] = 1
    masked, labels = mask_tokens(ids, tokenizer.mask_token_id, tokenizer.vocab_size,
                                 tokenizer.special_token_ids, mask_prob=mask_prob,
                                 generator=generator)
    is_next = torch.tensor([x.is_next for x in instances])
    return {"input_ids": masked, "token_type_ids": types, "attention_mask": attention,
            "mlm_labels": labels, "original_ids": ids, "is_next": is_next}


class PretrainingBatches:
    """Batches of ``instances``, reshuffled and re-masked each epoch (dynamic masking).

    Call it with an epoch number (as :func:`lmcore.train.fit` does with a factory) to get
    that epoch's list of batches; epoch ``e`` always gives the same batches (seed + e).
    """

    def __init__(self, instances: Sequence[Instance], tokenizer: Any, batch_size: int,
                 seed: int = 0, mask_prob: float = 0.15, shuffle: bool = True):
        if not instances:
            raise ValueError(bad_argument("PretrainingBatches", "instances", instances,
                                          "a non-empty list of Instance"))
        self.instances = list(instances)
        self.tokenizer = tokenizer
        self.batch_size = check_int("PretrainingBatches", "batch_size", batch_size, minimum=1)
        self.seed = check_int("PretrainingBatches", "seed", seed)
        self.mask_prob = check_number("PretrainingBatches", "mask_prob", mask_prob,
                                      positive=True, maximum=1.0)
        self.shuffle = shuffle

    def __len__(self) -> int:
        return -(-len(self.instances) // self.batch_size)

    def __call__(self, epoch: int = 0) -> Iterator[dict[str, torch.Tensor]]:
        order = list(range(len(self.instances)))
        if self.shuffle:
            random.Random(self.seed * 1_000_003 + epoch).shuffle(order)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        for start in range(0, len(order), self.batch_size):
            chosen = [self.instances[i] for i in order[start:start + self.batch_size]]
            yield collate(chosen, self.tokenizer, self.mask_prob, generator)


# --------------------------------------------------------------------------------------------
# Baselines the trained model must beat
# --------------------------------------------------------------------------------------------

def most_frequent_token(batches: Iterable[dict[str, torch.Tensor]]) -> int:
    """The token id that is most often the answer at a masked position in ``batches``."""
    counts: Counter[int] = Counter()
    for batch in batches:
        labels = batch["mlm_labels"]
        counts.update(labels[labels != IGNORE_INDEX].tolist())
    if not counts:
        raise ValueError("most_frequent_token: the batches have no masked position.")
    return counts.most_common(1)[0][0]


def word_overlap(instance: Instance, special_ids: Iterable[int] = ()) -> float:
    """Chapter 8's NSP baseline score: the Jaccard overlap of the token sets of A and B."""
    special = set(special_ids)
    a, b = set(instance.a) - special, set(instance.b) - special
    return len(a & b) / max(1, len(a | b))


# --------------------------------------------------------------------------------------------
# The objective on a batch, and the held-out measurements
# --------------------------------------------------------------------------------------------

def pretraining_loss(model: Any, batch: dict[str, torch.Tensor]):
    """BERT's loss, ``L = L_MLM + L_NSP`` (chapter 8), on one batch of :func:`collate`.

    Returns ``(loss, {"mlm_loss", "nsp_loss"})``, the form :func:`lmcore.train.fit` takes.
    Only the masked positions are scored (``mlm_positions``), which gives the same MLM loss
    as scoring every position and ignoring the -100 labels.
    """
    from lmcore.pretrain import mlm_loss, nsp_loss
    chosen = batch["mlm_labels"] != IGNORE_INDEX                           # [batch, n]
    out = model(batch["input_ids"], token_type_ids=batch["token_type_ids"],
                attention_mask=batch["attention_mask"], mlm_positions=chosen)
    mlm = mlm_loss(out.mlm_logits, batch["mlm_labels"][chosen])           # [k, V], [k]
    nsp = nsp_loss(out.nsp_logits, batch["is_next"])
    return mlm + nsp, {"mlm_loss": mlm.detach(), "nsp_loss": nsp.detach()}


def evaluate_pretraining(model: Any, batches: Iterable[dict[str, torch.Tensor]]) -> dict:
    """Held-out ``loss``, ``mlm_loss``, ``nsp_loss`` (means over masked positions and pairs),
    ``mlm_accuracy`` (top-1 at the masked positions) and ``nsp_accuracy``."""
    from lmcore.pretrain import mlm_loss, nsp_loss
    was_training = model.training
    model.eval()
    mlm_sum = nsp_sum = mlm_right = nsp_right = 0.0
    positions = pairs = 0
    with torch.no_grad():
        for batch in batches:
            chosen = batch["mlm_labels"] != IGNORE_INDEX
            out = model(batch["input_ids"], token_type_ids=batch["token_type_ids"],
                        attention_mask=batch["attention_mask"], mlm_positions=chosen)
            labels = batch["mlm_labels"][chosen]
            k, b = int(chosen.sum()), len(batch["is_next"])
            mlm_sum += float(mlm_loss(out.mlm_logits, labels)) * k
            nsp_sum += float(nsp_loss(out.nsp_logits, batch["is_next"])) * b
            mlm_right += float((out.mlm_logits.argmax(-1) == labels).sum())
            nsp_right += float(((out.nsp_logits.argmax(-1) == 0) == batch["is_next"]).sum())
            positions += k
            pairs += b
    model.train(was_training)
    return {"loss": (mlm_sum / positions) + (nsp_sum / pairs), "mlm_loss": mlm_sum / positions,
            "nsp_loss": nsp_sum / pairs, "mlm_accuracy": mlm_right / positions,
            "nsp_accuracy": nsp_right / pairs}


def overlap_baseline(fit_on: Sequence[Instance], test_on: Sequence[Instance],
                     special_ids: Iterable[int] = ()) -> tuple[float, float]:
    """Chapter 8's word-overlap rule for NSP: "IsNext if overlap > threshold", the threshold
    chosen for the best accuracy on ``fit_on``; returns ``(threshold, accuracy on test_on)``."""
    special = list(special_ids)
    if not fit_on or not test_on:
        raise ValueError("overlap_baseline: 'fit_on' and 'test_on' must be non-empty.")
    scores = torch.tensor([word_overlap(x, special) for x in fit_on], dtype=torch.float64)
    labels = torch.tensor([x.is_next for x in fit_on])
    candidates = torch.unique(scores)
    accuracy = torch.stack([((scores > t) == labels).double().mean() for t in candidates])
    threshold = float(candidates[accuracy.argmax()])
    test_scores = torch.tensor([word_overlap(x, special) for x in test_on], dtype=torch.float64)
    test_labels = torch.tensor([x.is_next for x in test_on])
    return threshold, float(((test_scores > threshold) == test_labels).double().mean())


def fill_mask(model: Any, tokenizer: Any, text: str, top_k: int = 3) -> list:
    """The ``top_k`` most probable tokens for each ``[MASK]`` of ``text``, by ``model`` (a
    :class:`~lmcore.transformer.BertForPretraining`): a list, one entry per ``[MASK]`` in
    order, of ``[(token, probability), ...]``."""
    if not isinstance(text, str) or "[MASK]" not in text:
        raise ValueError(bad_argument("fill_mask", "text", text,
                                      "a string with at least one [MASK]"))
    check_int("fill_mask", "top_k", top_k, minimum=1)
    pair = tokenizer.encode_pair(text)
    ids = torch.tensor([pair["input_ids"]])                               # [1, n]
    with torch.no_grad():
        logits = model(ids, token_type_ids=torch.tensor([pair["token_type_ids"]])).mlm_logits
    probabilities = torch.softmax(logits[0], dim=-1)                       # [n, V]
    out = []
    for position in (ids[0] == tokenizer.mask_token_id).nonzero().flatten().tolist():
        p, i = probabilities[position].topk(top_k)
        out.append(list(zip(tokenizer.convert_ids_to_tokens(i.tolist()), p.tolist())))
    return out
