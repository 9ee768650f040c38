"""Fine-tuning helpers (chapter 10).

A tagger labels words, but the model sees subword tokens: "Rosencrantz" may become
``Ros ##en ##cr ##antz``. :func:`align_labels` moves word labels onto tokens the way BERT's
authors did for named entities: the first subword of a word carries the word's label, and the
later subwords and the special tokens ([CLS], [SEP], padding) carry -100, the ``ignore_index``
of ``torch.nn.functional.cross_entropy``, so the loss and the scores count each word once.

The rest is the fine-tuning recipe of chapter 10, "turn the data into inputs and labels, then
optimise" with :func:`lmcore.train.fit`:

* :func:`encode_texts` / :func:`encode_words` -- padded token ids (and, for words, the word
  of each token); :func:`text_batches` / :func:`tagged_batches` -- shuffled training batches;
* :func:`classification_loss` / :func:`tagging_loss` -- the mean cross-entropy
  ``-1/N sum_i log softmax(z_i)[y_i]`` over sentences, or over the first subwords of words;
* :func:`freeze` -- ``requires_grad = False`` on the embeddings and the lower ``k`` blocks;
* :func:`class_probabilities`, :func:`predict_tags`, :func:`pooled_features`;
* :func:`select_tagger` -- train a tagger for each learning rate, score it on a validation
  set after every pass, keep the best (learning rate, passes) and its weights;
* :func:`gradient_x_input` -- the attribution of one decision to the input tokens,
  ``a_t = sum_j e_tj * d z_c / d e_tj`` for token embedding ``e_t`` and class score ``z_c``.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmcore._validate import bad_argument, check_int

__all__ = ["IGNORE_INDEX", "align_labels", "encode_texts", "text_batches",
           "classification_loss", "class_probabilities", "pooled_features", "freeze",
           "trainable_parameters", "encode_words", "tagged_batches", "tagging_loss",
           "predict_tags", "gradient_x_input", "Attribution", "sentence_classifier",
           "TaggerSelection", "select_tagger"]

IGNORE_INDEX = -100  # the label cross_entropy skips (its default ignore_index)


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """One label per token from one label per word.

    ``word_ids`` has one entry per token: ``None`` for a special token, else the index of the
    word the token belongs to (as a fast tokenizer's ``word_ids()`` gives it). The first token of
    each word gets ``word_labels[word]``; later tokens of the same word and special tokens get
    :data:`IGNORE_INDEX`.
    """
    if isinstance(word_ids, (str, bytes)) or not isinstance(word_ids, Sequence):
        raise TypeError(bad_argument("align_labels", "word_ids", word_ids,
                                     "a sequence of word indices or None"))
    if isinstance(word_labels, (str, bytes)) or not isinstance(word_labels, Sequence):
        raise TypeError(bad_argument("align_labels", "word_labels", word_labels,
                                     "a sequence of int labels, one per word"))
    aligned: list[int] = []
    previous: int | None = None
    for position, word in enumerate(word_ids):
        if word is None:
            aligned.append(IGNORE_INDEX)
            previous = None
            continue
        if isinstance(word, bool) or not isinstance(word, int) or word < 0:
            raise ValueError(f"The 'word_ids' argument of align_labels must hold word indices "
                             f"(ints >= 0) or None. Got {word!r} at token {position}.")
        if word >= len(word_labels):
            raise ValueError(f"The 'word_ids' argument of align_labels refers to word {word} at "
                             f"token {position}, but 'word_labels' has only {len(word_labels)} "
                             f"labels (words 0 to {len(word_labels) - 1}).")
        aligned.append(int(word_labels[word]) if word != previous else IGNORE_INDEX)
        previous = word
    return aligned


# --------------------------------------------------------------------------------------------
# Sentences -> batches (sentiment)
# --------------------------------------------------------------------------------------------

def _check_texts(function: str, texts: Any) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence) or not texts or not all(
            isinstance(t, str) for t in texts):
        raise TypeError(bad_argument(function, "texts", texts, "a non-empty list of str"))
    return list(texts)


def _pad(rows: list[list[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    n = max(len(r) for r in rows)
    ids = torch.full((len(rows), n), pad_id, dtype=torch.long)              # [batch, n]
    mask = torch.zeros((len(rows), n), dtype=torch.long)                    # [batch, n]
    for i, row in enumerate(rows):
        ids[i, :len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, :len(row)] = 1
    return ids, mask


def _token_rows(tokenizer: Any, texts: list[str], max_length: int) -> list[list[int]]:
    body = max_length - 2                                  # room for [CLS] and [SEP]
    return [[tokenizer.cls_token_id, *tokenizer.encode(t)[:body], tokenizer.sep_token_id]
            for t in texts]


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int = 64) -> dict:
    """``{"input_ids", "attention_mask"}`` ``[len(texts), n]``: ``[CLS] text [SEP]``, cut to
    ``max_length`` tokens and padded to the longest."""
    texts = _check_texts("encode_texts", texts)
    check_int("encode_texts", "max_length", max_length, minimum=3)
    ids, mask = _pad(_token_rows(tokenizer, texts, max_length), tokenizer.pad_token_id)
    return {"input_ids": ids, "attention_mask": mask}


def text_batches(tokenizer: Any, texts: Sequence[str], labels: Sequence[int], *,
                 batch_size: int = 32, max_length: int = 64, seed: int = 0):
    """A factory ``epoch -> list of batches`` for :func:`lmcore.train.fit`: the texts are
    tokenized once; each epoch shuffles them (seeded by ``seed`` and the epoch) into batches
    ``{"input_ids", "attention_mask", "labels"}``, each padded to its own longest text."""
    texts = _check_texts("text_batches", texts)
    if len(labels) != len(texts):
        raise ValueError(bad_argument("text_batches", "labels", f"{len(labels)} labels",
                                      f"one label per text ({len(texts)})"))
    check_int("text_batches", "batch_size", batch_size, minimum=1)
    rows = _token_rows(tokenizer, texts, check_int("text_batches", "max_length", max_length,
                                                   minimum=3))
    labels = [int(y) for y in labels]

    def epoch_batches(epoch: int) -> list[dict]:
        order = list(range(len(rows)))
        random.Random(seed * 1000 + epoch).shuffle(order)
        out = []
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            ids, mask = _pad([rows[i] for i in chosen], tokenizer.pad_token_id)
            out.append({"input_ids": ids, "attention_mask": mask,
                        "labels": torch.tensor([labels[i] for i in chosen])})
        return out
    return epoch_batches


GROUP_ROWS = 8  # rows per length group in the losses (see _by_length)


def _by_length(batch: dict, rows: int | None = None):
    """The rows of a right-padded ``batch``, longest first, in groups of ``rows``, each group
    cut to its own longest row: ``(index, input_ids, attention_mask)`` per group.

    A batch padded to its longest text spends most of its arithmetic on padding (tweets here:
    about 1.9 padded tokens per real one). Run group by group, the model sees the same texts
    and, since padding is masked out, computes the same logits up to rounding."""
    mask = batch["attention_mask"]
    lengths = mask.sum(1)                                                    # [B]
    order = torch.argsort(lengths, descending=True, stable=True)
    for index in order.split(rows or GROUP_ROWS):
        n = int(lengths[index[0]])
        yield index, batch["input_ids"][index, :n], mask[index, :n]


def classification_loss(model: nn.Module, batch: dict) -> tuple[Tensor, dict]:
    """The mean cross-entropy of the batch's labels under ``model``'s logits, and the batch
    accuracy: ``-1/B sum_i log softmax(z_i)[y_i]`` (a loss function for ``fit``). The model
    runs on groups of texts of similar length (:func:`_by_length`), not on the whole padded
    batch: the same loss and gradient up to rounding, in about half the time."""
    logits, labels = [], []
    for index, ids, mask in _by_length(batch):
        logits.append(model(ids, attention_mask=mask))                      # [b, C]
        labels.append(batch["labels"][index])
    logits, labels = torch.cat(logits), torch.cat(labels)                   # [B, C], [B]
    loss = F.cross_entropy(logits, labels)
    accuracy = (logits.argmax(-1) == labels).float().mean()
    return loss, {"accuracy": float(accuracy)}


def _longest_first(lengths: Sequence[int], batch_size: int) -> tuple[list[list[int]], Tensor]:
    """Batches of row indices, longest rows first, and the permutation that puts the rows of
    the concatenated batches back in their original order. Texts of similar length share a
    batch, so padding, which costs as much as text, nearly disappears (measured on chapter
    10's 1,000 test tweets with MiniLM: 2.2x faster than batches in the given order)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    restore = torch.empty(len(order), dtype=torch.long)
    restore[torch.tensor(order)] = torch.arange(len(order))
    return [order[s:s + batch_size] for s in range(0, len(order), batch_size)], restore


def _encoded_in_length_order(function: str, tokenizer: Any, texts: Any, max_length: int,
                             batch_size: int):
    texts = _check_texts(function, texts)
    check_int(function, "max_length", max_length, minimum=3)
    check_int(function, "batch_size", batch_size, minimum=1)
    rows = _token_rows(tokenizer, texts, max_length)
    batches, restore = _longest_first([len(r) for r in rows], batch_size)
    encoded = (_pad([rows[i] for i in chosen], tokenizer.pad_token_id) for chosen in batches)
    return encoded, restore


def class_probabilities(model: nn.Module, tokenizer: Any, texts: Sequence[str], *,
                        max_length: int = 64, batch_size: int = 128) -> Tensor:
    """``softmax(model(text))`` of each text, ``[len(texts), num_classes]``, in eval mode
    (the model's mode is restored afterwards); texts of similar length are batched together
    (:func:`_longest_first`), the result is in the order of ``texts``."""
    encoded, restore = _encoded_in_length_order("class_probabilities", tokenizer, texts,
                                                max_length, batch_size)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        chunks = [model(ids, attention_mask=mask).softmax(-1) for ids, mask in encoded]
    model.train(was_training)
    return torch.cat(chunks)[restore]


def pooled_features(encoder: nn.Module, tokenizer: Any, texts: Sequence[str], *,
                    max_length: int = 64, batch_size: int = 128) -> Tensor:
    """The pooled [CLS] vector of each text, ``[len(texts), d_model]``, from a frozen
    :class:`~lmcore.transformer.BertEncoder` (computed once; a linear head trained on them is
    the "frozen encoder" classifier); batched like :func:`class_probabilities`."""
    if getattr(encoder, "pooler", None) is None:
        raise ValueError(bad_argument("pooled_features", "encoder", type(encoder).__name__,
                                      "a BertEncoder with a pooler"))
    encoded, restore = _encoded_in_length_order("pooled_features", tokenizer, texts,
                                                max_length, batch_size)
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        chunks = [encoder(ids, attention_mask=mask, output_attentions=False).pooler_output
                  for ids, mask in encoded]                                  # [b, d] each
    encoder.train(was_training)
    return torch.cat(chunks)[restore]


def freeze(model: nn.Module, layers: int | str = "all") -> int:
    """Freeze the encoder of a ``BertFor...Classification`` ``model``: its embeddings and its
    lower ``layers`` blocks (``"all"``: every block and the pooler) stop learning
    (``requires_grad = False``); everything above stays trainable; ``layers=0`` unfreezes
    everything (full fine-tuning). Returns the number of trainable parameters left."""
    bert = getattr(model, "bert", None)
    if bert is None or not hasattr(bert, "blocks"):
        raise TypeError(bad_argument("freeze", "model", type(model).__name__,
                                     "a model with a BERT encoder in .bert"))
    total = len(bert.blocks)
    if layers == "all":
        layers = total
    check_int("freeze", "layers", layers, minimum=0)
    if layers > total:
        raise ValueError(bad_argument("freeze", "layers", layers,
                                      f"'all' or an int from 0 to {total} (the blocks)"))
    for p in model.parameters():
        p.requires_grad_(True)
    frozen = [bert.embeddings, *bert.blocks[:layers]] if layers else []
    if layers == total and bert.pooler is not None:
        frozen.append(bert.pooler)
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
    return trainable_parameters(model)


def trainable_parameters(model: nn.Module) -> int:
    """The number of parameters that receive gradients."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def sentence_classifier(encoder: nn.Module, labels: Sequence[str]) -> nn.Module:
    """A :class:`~lmcore.transformer.BertForSequenceClassification` whose encoder is a copy
    of ``encoder`` (a ``BertEncoder`` with a pooler, or a ``BertForPretraining``'s ``.bert``)
    and whose head is freshly initialised (seed it before calling)."""
    import copy
    from lmcore.transformer import BertEncoder, BertForSequenceClassification
    if hasattr(encoder, "bert") and isinstance(encoder.bert, BertEncoder):
        encoder = encoder.bert
    if not isinstance(encoder, BertEncoder):
        raise TypeError(bad_argument("sentence_classifier", "encoder", type(encoder).__name__,
                                     "a BertEncoder or a model with one in .bert"))
    model = BertForSequenceClassification(encoder.config, labels)
    model.bert = copy.deepcopy(encoder)
    return model


# --------------------------------------------------------------------------------------------
# Words -> batches (named entities)
# --------------------------------------------------------------------------------------------

def _check_words(function: str, sentences: Any) -> list[list[str]]:
    if isinstance(sentences, str) or not isinstance(sentences, Sequence) or not sentences:
        raise TypeError(bad_argument(function, "sentences", sentences,
                                     "a non-empty list of sentences, each a list of words"))
    for i, words in enumerate(sentences):
        if isinstance(words, str) or not all(isinstance(w, str) for w in words):
            raise TypeError(f"The 'sentences' argument of {function} must hold lists of words "
                            f"(str); sentence {i} is {words!r}.")
    return [list(w) for w in sentences]


def encode_words(tokenizer: Any, words: Sequence[str],
                 max_length: int = 64) -> tuple[list[int], list[int | None]]:
    """``(token ids, word_ids)`` of one pre-split sentence: ``[CLS] pieces... [SEP]`` with
    ``word_ids[t]`` the index of the word token ``t`` belongs to (None for [CLS], [SEP]); words
    past ``max_length`` tokens are cut (their labels are then not seen)."""
    ids: list[int] = [tokenizer.cls_token_id]
    word_ids: list[int | None] = [None]
    for index, word in enumerate(words):
        pieces = tokenizer.encode(word) or [tokenizer.unk_token_id]
        if len(ids) + len(pieces) > max_length - 1:
            break
        ids.extend(pieces)
        word_ids.extend([index] * len(pieces))
    return ids + [tokenizer.sep_token_id], word_ids + [None]


def _tag_rows(tokenizer, sentences, tags, label_ids, max_length):
    rows = []
    for i, words in enumerate(sentences):
        ids, word_ids = encode_words(tokenizer, words, max_length)
        labels = None
        if tags is not None:
            if len(tags[i]) != len(words):
                raise ValueError(f"The 'tags' argument of tagged_batches must have one tag per "
                                 f"word; sentence {i} has {len(words)} words and "
                                 f"{len(tags[i])} tags.")
            try:
                labels = align_labels(word_ids, [label_ids[t] for t in tags[i]])
            except KeyError as unknown:
                raise ValueError(f"The 'tags' argument of tagged_batches holds the tag "
                                 f"{unknown} (sentence {i}); the known tags are "
                                 f"{sorted(label_ids)}.") from None
        rows.append((ids, word_ids, labels))
    return rows


def tagged_batches(tokenizer: Any, sentences: Sequence[Sequence[str]],
                   tags: Sequence[Sequence[str]], labels: Sequence[str], *,
                   batch_size: int = 32, max_length: int = 64, seed: int = 0):
    """A factory ``epoch -> list of batches`` for ``fit``: each batch holds ``input_ids``,
    ``attention_mask`` and ``labels`` ``[batch, n]`` (:func:`align_labels`: the tag of a word
    on its first subword, :data:`IGNORE_INDEX` elsewhere); ``labels`` names the tags."""
    sentences = _check_words("tagged_batches", sentences)
    check_int("tagged_batches", "batch_size", batch_size, minimum=1)
    label_ids = {name: i for i, name in enumerate(labels)}
    rows = _tag_rows(tokenizer, sentences, tags, label_ids, max_length)

    def epoch_batches(epoch: int) -> list[dict]:
        order = list(range(len(rows)))
        random.Random(seed * 1000 + epoch).shuffle(order)
        out = []
        for start in range(0, len(order), batch_size):
            chosen = [rows[i] for i in order[start:start + batch_size]]
            ids, mask = _pad([r[0] for r in chosen], tokenizer.pad_token_id)
            target = torch.full_like(ids, IGNORE_INDEX)                    # [batch, n]
            for row, (_, _, aligned) in enumerate(chosen):
                target[row, :len(aligned)] = torch.tensor(aligned)
            out.append({"input_ids": ids, "attention_mask": mask, "labels": target})
        return out
    return epoch_batches


def tagging_loss(model: nn.Module, batch: dict) -> tuple[Tensor, dict]:
    """The mean cross-entropy over the labelled tokens (first subwords; -100 is skipped),
    computed on groups of sentences of similar length (:func:`_by_length`)."""
    logits, labels = [], []
    for index, ids, mask in _by_length(batch):
        logits.append(model(ids, attention_mask=mask).flatten(0, 1))        # [b*n, C]
        labels.append(batch["labels"][index, :ids.shape[1]].flatten())      # [b*n]
    logits, labels = torch.cat(logits), torch.cat(labels)
    loss = F.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX)
    keep = labels != IGNORE_INDEX
    accuracy = (logits.argmax(-1)[keep] == labels[keep]).float().mean()
    return loss, {"accuracy": float(accuracy)}


def predict_tags(model: nn.Module, tokenizer: Any, sentences: Sequence[Sequence[str]], *,
                 max_length: int = 64, batch_size: int = 64) -> list[list[str]]:
    """One tag per word (the prediction at the word's first subword; ``"O"`` for words cut
    off by ``max_length``), with the tag names of ``model.labels``; sentences of similar
    length are batched together (:func:`_longest_first`)."""
    sentences = _check_words("predict_tags", sentences)
    check_int("predict_tags", "batch_size", batch_size, minimum=1)
    rows = _tag_rows(tokenizer, sentences, None, {}, max_length)
    batches, _ = _longest_first([len(r[0]) for r in rows], batch_size)
    was_training = model.training
    model.eval()
    out: list[list[str]] = [[] for _ in sentences]
    with torch.no_grad():
        for chosen in batches:
            ids, mask = _pad([rows[i][0] for i in chosen], tokenizer.pad_token_id)
            best = model(ids, attention_mask=mask).argmax(-1)               # [batch, n]
            for row, i in enumerate(chosen):
                tags = ["O"] * len(sentences[i])
                previous = None
                for t, w in enumerate(rows[i][1]):
                    if w is not None and w != previous:
                        tags[w] = model.labels[int(best[row, t])]
                    previous = w
                out[i] = tags
    model.train(was_training)
    return out


@dataclasses.dataclass
class TaggerSelection:
    """What :func:`select_tagger` returns: the chosen ``model`` (eval mode, the weights of the
    best validation score), its ``lr`` and ``epochs``, the validation micro-F1 of every
    ``(lr, epochs)`` tried in ``scores``, and the training ``seconds`` of all the runs."""
    model: nn.Module
    lr: float
    epochs: int
    scores: dict
    seconds: float


def select_tagger(make_model, tokenizer: Any, train: Sequence[tuple], validation: Sequence[tuple],
                  *, lrs: Sequence[float], epochs: int, batch_size: int = 32,
                  max_length: int = 64, seed: int = 0) -> TaggerSelection:
    """Choose a tagger's learning rate and number of passes on ``validation`` alone.

    For each ``lr`` in ``lrs``: ``make_model()`` gives a fresh model (it seeds itself), trained
    with :func:`lmcore.train.fit` for ``epochs`` passes over ``train`` (``(words, tags)``
    pairs; warm-up, then linear decay to the end of the last pass); after every pass the
    entity micro-F1 on ``validation`` is measured (:func:`lmcore.metrics.entity_scores`) and
    the weights of the best score so far are kept. Early stopping and a grid search, the
    test set never consulted."""
    import copy
    from lmcore.metrics import entity_scores
    from lmcore.train import fit
    if not callable(make_model):
        raise TypeError(bad_argument("select_tagger", "make_model", make_model,
                                     "a function () -> a fresh token classifier"))
    if isinstance(lrs, (int, float)) or not lrs:
        raise ValueError(bad_argument("select_tagger", "lrs", lrs,
                                      "a non-empty list of learning rates"))
    check_int("select_tagger", "epochs", epochs, minimum=1)
    if not train or not validation:
        raise ValueError(bad_argument("select_tagger", "train/validation",
                                      (len(train), len(validation)),
                                      "non-empty lists of (words, tags)"))
    val_words, val_tags = [w for w, _ in validation], [t for _, t in validation]
    best: dict = {"f1": -1.0}
    scores: dict = {}
    seconds = 0.0
    for lr in lrs:
        model = make_model()
        batches = tagged_batches(tokenizer, [w for w, _ in train], [t for _, t in train],
                                 model.labels, batch_size=batch_size,
                                 max_length=max_length, seed=seed)
        per_epoch = len(batches(0))
        passes = iter(range(1, epochs + 1))

        def evaluate(m, lr=lr):
            done = next(passes)
            tags = predict_tags(m, tokenizer, val_words, max_length=max_length)
            f1 = entity_scores(val_tags, tags)["micro"]["f1"]
            scores[(lr, done)] = f1
            if f1 > best["f1"]:
                best.update(f1=f1, lr=lr, epochs=done,
                            state=copy.deepcopy(m.state_dict()))
            return {"micro_f1": f1}

        history = fit(model, tagging_loss, batches, steps=epochs * per_epoch, lr=lr,
                      evaluate=evaluate, eval_every=per_epoch, progress=False,
                      description=f"tagger, lr {lr:g}")
        seconds += history.seconds
    model = make_model()
    model.load_state_dict(best["state"])
    return TaggerSelection(model.eval(), best["lr"], best["epochs"], scores, seconds)


# --------------------------------------------------------------------------------------------
# Why this label: gradient x input
# --------------------------------------------------------------------------------------------

class Attribution(dict):
    """What :func:`gradient_x_input` returns: ``tokens`` (str), ``scores`` (one float per
    token), ``probabilities`` (one per class), ``labels``, ``target`` (the explained class)."""


def gradient_x_input(model: nn.Module, tokenizer: Any, text: str, target: int | None = None,
                     max_length: int = 64) -> Attribution:
    """How much each token pushed ``model``'s score of class ``target`` (default: the
    predicted class) for ``text``: with ``e_t`` the token embedding of token ``t`` and
    ``z_c`` the class score (logit),

        a_t = e_t . dz_c/de_t = sum_j e_tj dz_c/de_tj

    the first-order Taylor estimate of how much ``z_c`` would change if ``e_t`` were set to
    zero (Simonyan et al. 2014; Shrikumar et al. 2016). Positive: the token raised the class
    score. Computed in eval mode (no dropout) with one backward pass."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(bad_argument("gradient_x_input", "text", text, "a non-empty string"))
    table = model.bert.embeddings.token_embeddings
    captured: dict = {}

    def keep(_module, _inputs, output):        # a leaf copy, so frozen embeddings work too
        captured["e"] = output.detach().requires_grad_(True)        # [1, n, d]
        return captured["e"]

    was_training = model.training
    model.eval()
    handle = table.register_forward_hook(keep)
    try:
        enc = encode_texts(tokenizer, [text], max_length)
        logits = model(enc["input_ids"], attention_mask=enc["attention_mask"])[0]   # [C]
        if target is None:
            target = int(logits.argmax())
        check_int("gradient_x_input", "target", target, minimum=0)
        if target >= len(logits):
            raise ValueError(bad_argument("gradient_x_input", "target", target,
                                          f"a class index below {len(logits)}"))
        model.zero_grad(set_to_none=True)
        logits[target].backward()
        e = captured["e"]
        scores = (e * e.grad).sum(-1)[0].detach()                    # [n]
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return Attribution(tokens=tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist()),
                       scores=[float(x) for x in scores],
                       probabilities=[float(x) for x in logits.detach().softmax(-1)],
                       labels=list(getattr(model, "labels", range(len(logits)))),
                       target=target)
