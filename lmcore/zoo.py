"""The models the book trains itself, trained once and kept in a cache (chapter 9 on).

``small_bert()`` returns the folder of chapter 9's small BERT, pretrained with MLM + NSP on
Shakespeare's works: a Hugging Face checkpoint (``config.json``, ``model.safetensors``, the
tokenizer's ``vocab.txt``) plus ``training.json`` (the settings, the training history, the
held-out results and baselines). If the folder is not there yet it trains the model first,
with a progress bar, so a chapter or test that needs it works from a fresh clone, in any order.
``load_small_bert()`` returns ``(model, tokenizer)`` from that folder.

Where: ``$LMCORE_CACHE`` if set, else ``~/.cache/lmcore``, in a subfolder named after the
settings and a short hash of the settings *and of the source code* that trains the model
(data pipeline, model, loop, optimiser, tokenizer trainer): a model trained by older code is
never reused, it is retrained. Chapter 9 calls :func:`pretrain_small_bert` with the same
default settings, so running chapter 9 leaves the model chapters 10-12 use in the cache.

The numbers: one process, ``torch`` threads as the caller set them. Training on 2 CPU cores
is not bit-for-bit reproducible across thread counts and machines; the claims about the
result are checked with margins, never by exact values.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import inspect
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

import torch

from lmcore._validate import bad_argument

__all__ = ["SmallBertSettings", "SMALL_BERT", "SMALL_BERT_FULL", "cache_dir", "settings_hash",
           "small_bert", "load_small_bert", "pretrain_small_bert", "PretrainingRun",
           "small_bert_data", "SmallBertData", "small_bert_config", "FINE_TUNED",
           "fine_tuned_folder", "sentiment_classifier"]


@dataclasses.dataclass(frozen=True)
class SmallBertSettings:
    """Everything that decides chapter 9's small BERT (and its cache folder's hash)."""
    corpus: str = "shakespeare"
    vocab_size: int = 6000          # WordPiece entries learned from the corpus
    max_length: int = 64            # tokens per input, [CLS] and two [SEP] included
    d_model: int = 128
    num_layers: int = 2
    num_heads: int = 4
    d_ff: int = 512
    dropout: float = 0.0            # less than one pass over the data: nothing to regularise
    batch_size: int = 32
    steps: int = 500
    lr: float = 2e-3                # peak learning rate
    warmup_steps: int = 50
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    mask_prob: float = 0.15
    held_out_every: int = 14        # documents 7, 21, 35 (every 14th from the 7th) are held out
    eval_pairs: int = 512           # held-out pairs measured at each evaluation
    eval_every: int = 100
    seed: int = 0

    @property
    def name(self) -> str:
        return (f"small-bert-L{self.num_layers}-d{self.d_model}-v{self.vocab_size}"
                f"-n{self.max_length}-s{self.steps}")


SMALL_BERT = SmallBertSettings()
SMALL_BERT_FULL = dataclasses.replace(SMALL_BERT, steps=1500, warmup_steps=150,
                                      eval_every=250)


def cache_dir() -> Path:
    """``$LMCORE_CACHE`` if set, else ``~/.cache/lmcore``."""
    return Path(os.environ.get("LMCORE_CACHE") or Path.home() / ".cache" / "lmcore")


def _code_fingerprint() -> str:
    """The source code a trained small BERT depends on (not the GPT side of transformer.py)."""
    import lmcore.attention
    import lmcore.optim
    import lmcore.pretrain
    import lmcore.pretraining_data
    import lmcore.tokenize.train
    import lmcore.tokenize.wordpiece
    import lmcore.train
    from lmcore import transformer as t
    parts = [inspect.getsource(m) for m in (lmcore.attention, lmcore.optim, lmcore.pretrain,
                                            lmcore.pretraining_data, lmcore.tokenize.train,
                                            lmcore.tokenize.wordpiece, lmcore.train)]
    parts += [inspect.getsource(obj) for obj in (
        t.LayerNorm, t.gelu, t.FeedForward, t.EncoderBlock, t.BertConfig, t.BertEmbeddings,
        t.BertEncoder, t.MLMHead, t.BertForPretraining, t._init_bert_weights)]
    parts.append(inspect.getsource(_train))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def settings_hash(settings: SmallBertSettings = SMALL_BERT) -> str:
    """10 hex digits of the SHA-256 of the settings and of the training code."""
    if not isinstance(settings, SmallBertSettings):
        raise TypeError(bad_argument("settings_hash", "settings", settings,
                                     "a SmallBertSettings"))
    text = json.dumps(dataclasses.asdict(settings), sort_keys=True) + _code_fingerprint()
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _folder(settings: SmallBertSettings) -> Path:
    return cache_dir() / f"{settings.name}-{settings_hash(settings)}"


# --------------------------------------------------------------------------------------------
# The data
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class SmallBertData:
    """The tokenizer, the training instances and the held-out ones (unseen documents)."""
    tokenizer: Any
    train: list
    held_out: list
    held_out_titles: list
    train_batches: Any              # PretrainingBatches: a factory epoch -> batches
    eval_batches: list              # fixed masks, the first settings.eval_pairs pairs


@functools.lru_cache(maxsize=4)
def small_bert_data(settings: SmallBertSettings = SMALL_BERT) -> SmallBertData:
    """Tokenizer, instances and batches for ``settings`` (computed once per process)."""
    from lmcore.data import load_corpus
    from lmcore.pretraining_data import (PretrainingBatches, make_instances, tokenize_documents,
                                         train_wordpiece)
    if not isinstance(settings, SmallBertSettings):
        raise TypeError(bad_argument("small_bert_data", "settings", settings,
                                     "a SmallBertSettings"))
    documents = load_corpus(settings.corpus).documents
    held = [i for i in range(len(documents))
            if i % settings.held_out_every == settings.held_out_every // 2]
    train_docs = [d.text for i, d in enumerate(documents) if i not in held]
    held_docs = [documents[i].text for i in held]
    tokenizer = train_wordpiece(train_docs, settings.vocab_size)      # held-out text unseen
    train = make_instances(tokenize_documents(train_docs, tokenizer), settings.max_length,
                           seed=settings.seed)
    held_out = make_instances(tokenize_documents(held_docs, tokenizer), settings.max_length,
                              seed=settings.seed + 1)
    batches = PretrainingBatches(train, tokenizer, settings.batch_size, seed=settings.seed,
                                 mask_prob=settings.mask_prob)
    eval_batches = list(PretrainingBatches(held_out[:settings.eval_pairs], tokenizer, 64,
                                           seed=settings.seed + 1, mask_prob=settings.mask_prob,
                                           shuffle=False)(0))
    return SmallBertData(tokenizer, train, held_out, [documents[i].title for i in held],
                         batches, eval_batches)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class PretrainingRun:
    """What :func:`pretrain_small_bert` returns."""
    model: Any                      # BertForPretraining, in evaluation mode
    tokenizer: Any
    history: Any                    # lmcore.train.History
    baselines: dict                 # held-out accuracies of the trivial predictors
    folder: Optional[Path]          # where it was saved (None with save=False)


def small_bert_config(settings: SmallBertSettings = SMALL_BERT, tokenizer: Any = None,
                      dropout: Optional[float] = None):
    """The :class:`~lmcore.transformer.BertConfig` of ``settings`` (vocabulary size from
    ``tokenizer`` if given, else ``settings.vocab_size``; ``dropout`` overrides)."""
    from lmcore.transformer import BertConfig
    vocab = settings.vocab_size if tokenizer is None else tokenizer.vocab_size
    return BertConfig(vocab_size=vocab, max_positions=settings.max_length,
                      d_model=settings.d_model, num_layers=settings.num_layers,
                      num_heads=settings.num_heads, d_ff=settings.d_ff,
                      dropout=settings.dropout if dropout is None else dropout)


def _train(settings: SmallBertSettings, data: SmallBertData, progress: bool):
    from lmcore.pretraining_data import evaluate_pretraining, pretraining_loss
    from lmcore.train import fit
    from lmcore.transformer import BertForPretraining
    torch.manual_seed(settings.seed)
    model = BertForPretraining(small_bert_config(settings, data.tokenizer))
    history = fit(model, pretraining_loss, data.train_batches, steps=settings.steps,
                  lr=settings.lr, warmup_steps=settings.warmup_steps,
                  weight_decay=settings.weight_decay, max_grad_norm=settings.max_grad_norm,
                  evaluate=lambda m: evaluate_pretraining(m, data.eval_batches),
                  eval_every=settings.eval_every, progress=progress,
                  description="pretraining a small BERT")
    return model.eval(), history


def _baselines(data: SmallBertData) -> dict:
    from lmcore.pretrain import IGNORE_INDEX
    from lmcore.pretraining_data import most_frequent_token, overlap_baseline
    token = most_frequent_token(data.train_batches(0))
    labels = torch.cat([b["mlm_labels"][b["mlm_labels"] != IGNORE_INDEX]
                        for b in data.eval_batches])
    held = data.held_out[:len(torch.cat([b["is_next"] for b in data.eval_batches]))]
    threshold, overlap_accuracy = overlap_baseline(data.train[:4000], held,
                                                   data.tokenizer.special_token_ids)
    return {"most_frequent_token": data.tokenizer.convert_ids_to_tokens([token])[0],
            "mlm_most_frequent_accuracy": float((labels == token).double().mean()),
            "nsp_chance_accuracy": 0.5,
            "nsp_overlap_threshold": threshold,
            "nsp_overlap_accuracy": overlap_accuracy}


def pretrain_small_bert(settings: SmallBertSettings = SMALL_BERT, *, progress: bool = True,
                        save: bool = True) -> PretrainingRun:
    """Train chapter 9's small BERT from scratch with ``settings`` and (``save=True``) store
    it in the cache folder :func:`small_bert` reads, replacing an older copy. The model comes
    back in evaluation mode."""
    if not isinstance(settings, SmallBertSettings):
        raise TypeError(bad_argument("pretrain_small_bert", "settings", settings,
                                     "a SmallBertSettings (e.g. lmcore.zoo.SMALL_BERT)"))
    data = small_bert_data(settings)
    model, history = _train(settings, data, progress)
    baselines = _baselines(data)
    folder = _save(settings, model, data, history, baselines) if save else None
    return PretrainingRun(model, data.tokenizer, history, baselines, folder)


def _save(settings, model, data, history, baselines) -> Path:
    from lmcore.checkpoint import save_pretrained
    target = _folder(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    save_pretrained(model, staging, tokenizer=data.tokenizer)
    record = {"settings": dataclasses.asdict(settings), "hash": settings_hash(settings),
              "trained": datetime.datetime.now(datetime.timezone.utc).isoformat(
                  timespec="seconds"),
              "torch": torch.__version__, "threads": torch.get_num_threads(),
              "held_out_documents": data.held_out_titles,
              "final_eval": history.final_eval, "baselines": baselines,
              "history": history.to_dict()}
    (staging / "training.json").write_text(json.dumps(record, indent=1))
    if target.exists():                      # an older copy of the same settings: replace it
        shutil.rmtree(target, ignore_errors=True)
    try:
        staging.rename(target)
    except OSError:                          # another process finished first: keep theirs
        shutil.rmtree(staging, ignore_errors=True)
    return target


def small_bert(settings: SmallBertSettings = SMALL_BERT, *, progress: bool = True) -> Path:
    """The folder of chapter 9's small BERT (a Hugging Face ``BertForPreTraining`` checkpoint
    with its ``vocab.txt`` and ``training.json``), training it first if it is not cached.

    ``transformers.BertForPreTraining.from_pretrained(folder)`` and
    ``lmcore.checkpoint.load_pretrained(folder)`` both read it; :func:`load_small_bert` gives
    ``(model, tokenizer)`` directly.
    """
    if not isinstance(settings, SmallBertSettings):
        raise TypeError(bad_argument("small_bert", "settings", settings,
                                     "a SmallBertSettings (e.g. lmcore.zoo.SMALL_BERT)"))
    folder = _folder(settings)
    if not (folder / "training.json").is_file():
        pretrain_small_bert(settings, progress=progress, save=True)
    return folder


def load_small_bert(settings: SmallBertSettings = SMALL_BERT, *,
                    progress: bool = True) -> tuple[Any, Any]:
    """``(model, tokenizer)``: chapter 9's :class:`~lmcore.transformer.BertForPretraining`
    in evaluation mode and its WordPiece tokenizer, trained first if not cached."""
    from lmcore.checkpoint import load_pretrained, load_tokenizer
    folder = small_bert(settings, progress=progress)
    return load_pretrained(folder), load_tokenizer(folder)


# --------------------------------------------------------------------------------------------
# Chapter 10's fine-tuned models
# --------------------------------------------------------------------------------------------

FINE_TUNED = ("sentiment-minilm", "sentiment-small-bert", "ner-small-bert")


def fine_tuned_folder(name: str) -> Path:
    """Where chapter 10 saves its fine-tuned model ``name`` (one of :data:`FINE_TUNED`):
    a Hugging Face ``BertForSequenceClassification`` / ``BertForTokenClassification`` folder
    under the cache, ``<cache>/ch10-<name>``."""
    if name not in FINE_TUNED:
        raise ValueError(bad_argument("fine_tuned_folder", "name", name,
                                      f"one of {list(FINE_TUNED)}"))
    return cache_dir() / f"ch10-{name}"


def sentiment_classifier(name: str = "sentiment-minilm") -> Path:
    """The folder of chapter 10's sentiment classifier (labels negative, neutral, positive),
    for chapter 12's service; run chapter 10 first to create it."""
    folder = fine_tuned_folder(name)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"sentiment_classifier: {folder} does not exist yet; execute "
                                f"chapters/10_fine_tuning.ipynb once to train and save it.")
    return folder
