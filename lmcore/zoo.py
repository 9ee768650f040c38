"""The models the book trains itself, trained once and kept in a cache (chapter 9 on).

``small_bert()`` returns the folder of chapter 9's small BERT, pretrained with MLM + NSP on
Shakespeare's works and the docstrings of Python's standard library: a Hugging Face
checkpoint (``config.json``, ``model.safetensors``, the tokenizer's ``vocab.txt``) plus
``training.json`` (the settings, the training history, the held-out results and baselines).
If the folder is not there yet it trains the model first, with a progress bar, so a chapter
or test that needs it works from a fresh clone, in any order.
``load_small_bert()`` returns ``(model, tokenizer)`` from that folder.

Where: ``$LMCORE_CACHE`` if set, else ``~/.cache/lmcore``, in a subfolder named after the
settings and a short hash of the settings *and of the source code* that trains the model
(data pipeline, model, loop, optimiser, tokenizer trainer): a model trained by older code is
never reused, it is retrained. Chapter 9 calls :func:`pretrain_small_bert` with the same
default settings, so running chapter 9 leaves the model chapters 10-12 use in the cache.

``sentiment_classifier()`` does the same for chapter 10's MiniLM sentiment classifier
(chapter 12's service serves it): trained on demand on one thread with a fixed seed, so the
folder holds the same model chapter 10 trains, cached under a hash of
:class:`SentimentSettings` and of the code it depends on. ``sentiment_run()`` returns such a
run (model, history, training time) from the cache, training it first if needed; chapter 10
gets its small-BERT and frozen-layer variants the same way. ``tagger_selection()`` caches
chapter 10's token classifiers under a hash of their encoder's weights, their data, their
settings and the code.

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
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional, Sequence

import torch

from lmcore._validate import bad_argument

__all__ = ["SmallBertSettings", "SMALL_BERT", "SMALL_BERT_FULL", "cache_dir", "settings_hash",
           "small_bert", "load_small_bert", "pretrain_small_bert", "PretrainingRun",
           "small_bert_data", "SmallBertData", "small_bert_config", "SmallGPTSettings",
           "SMALL_GPT", "SMALL_GPT_FULL", "small_gpt", "load_small_gpt", "train_small_gpt",
           "small_gpt_data", "small_gpt_hash", "ngram_baselines", "GPTTrainingRun",
           "SmallGPTData",
           "FINE_TUNED", "fine_tuned_folder", "SentimentSettings", "SENTIMENT",
           "SENTIMENT_FULL", "SentimentRun", "sentiment_training_set", "sentiment_hash",
           "train_sentiment_classifier", "sentiment_classifier", "sentiment_run",
           "SENTIMENT_ENCODERS", "tagger_selection",
           "load_sentiment_classifier"]


@dataclasses.dataclass(frozen=True)
class SmallBertSettings:
    """Everything that decides chapter 9's small BERT (and its cache folder's hash)."""
    corpus: str = "shakespeare+stdlib"  # the plays and poems, and Python's docstrings
    vocab_size: int = 6000          # WordPiece entries learned from the corpus
    max_length: int = 64            # tokens per input, [CLS] and two [SEP] included
    d_model: int = 128
    num_layers: int = 2
    num_heads: int = 4
    d_ff: int = 512
    dropout: float = 0.0            # less than one pass over the data: nothing to regularise
    batch_size: int = 32
    steps: int = 800
    lr: float = 2e-3                # peak learning rate
    warmup_steps: int = 80
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    mask_prob: float = 0.15
    held_out_every: int = 14        # documents 7, 21, 35, ... (every 14th from the 7th) held out
    eval_pairs: int = 512           # held-out pairs measured at each evaluation, half IsNext
    eval_every: int = 100
    seed: int = 0

    @property
    def name(self) -> str:
        return (f"small-bert-L{self.num_layers}-d{self.d_model}-v{self.vocab_size}"
                f"-n{self.max_length}-s{self.steps}")


SMALL_BERT = SmallBertSettings()
SMALL_BERT_FULL = dataclasses.replace(SMALL_BERT, steps=1600, warmup_steps=160,
                                      eval_every=200)


def cache_dir() -> Path:
    """``$LMCORE_CACHE`` if set, else ``~/.cache/lmcore``."""
    return Path(os.environ.get("LMCORE_CACHE") or Path.home() / ".cache" / "lmcore")


def _fingerprint(*sources: Any, extra: Sequence[str] = ()) -> str:
    """SHA-256 of the source code of ``sources`` (modules, classes, functions), in order,
    and of the strings ``extra``: the code a cached model depends on."""
    parts = [inspect.getsource(obj) for obj in sources] + list(extra)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _settings_digest(settings: Any, fingerprint: str) -> str:
    """10 hex digits of the SHA-256 of ``settings`` (a dataclass) and of ``fingerprint``."""
    text = json.dumps(dataclasses.asdict(settings), sort_keys=True) + fingerprint
    return hashlib.sha256(text.encode()).hexdigest()[:10]


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
    return _fingerprint(
        lmcore.attention, lmcore.optim, lmcore.pretrain, lmcore.pretraining_data,
        lmcore.tokenize.train, lmcore.tokenize.wordpiece, lmcore.train,
        t.LayerNorm, t.FusedLayerNorm, t.gelu, t._activate, t.FeedForward, t.EncoderBlock,
        t.BertConfig, t.BertEmbeddings, t.BertEncoder, t.MLMHead, t.BertForPretraining,
        t._init_bert_weights, _train)


def settings_hash(settings: SmallBertSettings = SMALL_BERT) -> str:
    """10 hex digits of the SHA-256 of the settings and of the training code."""
    if not isinstance(settings, SmallBertSettings):
        raise TypeError(bad_argument("settings_hash", "settings", settings,
                                     "a SmallBertSettings"))
    return _settings_digest(settings, _code_fingerprint())


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
    held_out_corpora: list          # the corpus of each held-out document
    train_batches: Any              # PretrainingBatches: a factory epoch -> batches
    eval_batches: list              # fixed masks on eval_instances
    eval_instances: list            # the measured held-out pairs, half of them IsNext


@functools.lru_cache(maxsize=4)
def small_bert_data(settings: SmallBertSettings = SMALL_BERT) -> SmallBertData:
    """Tokenizer, instances and batches for ``settings`` (computed once per process)."""
    from lmcore.data import load_corpus
    from lmcore.pretraining_data import (PretrainingBatches, make_instances, tokenize_documents,
                                         train_wordpiece)
    if not isinstance(settings, SmallBertSettings):
        raise TypeError(bad_argument("small_bert_data", "settings", settings,
                                     "a SmallBertSettings"))
    # "shakespeare+stdlib": the documents of both corpora, one after the other
    named = [(name, d) for name in settings.corpus.split("+")
             for d in load_corpus(name).documents]
    documents = [d for _, d in named]
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
    # the measured pairs: exactly half IsNext, so a constant answer scores exactly 1/2;
    # batches in the order of eval_instances (no shuffling), with masks fixed once
    half = settings.eval_pairs // 2
    measured = ([x for x in held_out if x.is_next][:half]
                + [x for x in held_out if not x.is_next][:half])
    eval_batches = list(PretrainingBatches(measured, tokenizer, 64, seed=settings.seed + 1,
                                           mask_prob=settings.mask_prob, shuffle=False)(0))
    return SmallBertData(tokenizer, train, held_out, [documents[i].title for i in held],
                         [named[i][0] for i in held], batches, eval_batches, measured)


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
    threshold, overlap_accuracy = overlap_baseline(data.train[:4000], data.eval_instances,
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


def _save_to_cache(target: Path, model, tokenizer, record: dict) -> Path:
    """Write ``model`` (with ``tokenizer``) and ``training.json`` (``record`` plus when and
    with which torch it was trained) into the cache folder ``target``, atomically: the files
    go to a staging folder beside it, which is then renamed, so a reader never sees half a
    model."""
    from lmcore.checkpoint import save_pretrained
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    save_pretrained(model, staging, tokenizer=tokenizer)
    record = dict(record, trained=datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds"), torch=torch.__version__)
    (staging / "training.json").write_text(json.dumps(record, indent=1))
    if target.exists():                      # an older copy of the same settings: replace it
        shutil.rmtree(target, ignore_errors=True)
    try:
        staging.rename(target)
    except OSError:                          # another process finished first: keep theirs
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _save(settings, model, data, history, baselines) -> Path:
    return _save_to_cache(_folder(settings), model, data.tokenizer, {
        "settings": dataclasses.asdict(settings), "hash": settings_hash(settings),
        "threads": torch.get_num_threads(), "held_out_documents": data.held_out_titles,
        "final_eval": history.final_eval, "baselines": baselines,
        "history": history.to_dict()})


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


# ============================================================================================
# Chapter 11's small GPT
# ============================================================================================

@dataclasses.dataclass(frozen=True)
class SmallGPTSettings:
    """Everything that decides chapter 11's small GPT (and its cache folder's hash)."""
    corpus: str = "shakespeare"
    held_out: tuple = ("The Tempest", "Twelfth Night")   # whole works never trained on
    vocab_size: int = 512           # byte-level BPE tokens learned from the training works
    context: int = 64               # tokens per training window (max_positions)
    d_model: int = 96
    num_layers: int = 3
    num_heads: int = 4
    d_ff: int = 384
    dropout: float = 0.0
    batch_size: int = 32
    steps: int = 500
    lr: float = 5e-3                # peak learning rate
    warmup_steps: int = 50
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    eval_windows: int = 64          # held-out windows of `context` tokens scored per evaluation
    eval_every: int = 100
    seed: int = 0

    @property
    def name(self) -> str:
        return (f"small-gpt-L{self.num_layers}-d{self.d_model}-v{self.vocab_size}"
                f"-n{self.context}-s{self.steps}")


SMALL_GPT = SmallGPTSettings()
SMALL_GPT_FULL = dataclasses.replace(SMALL_GPT, steps=1500, warmup_steps=100, eval_every=250)


def _gpt_code_fingerprint() -> str:
    """The source code a trained small GPT depends on (not the BERT side, not decoding)."""
    import lmcore.attention
    import lmcore.causal_lm
    import lmcore.optim
    import lmcore.tokenize.train
    import lmcore.train
    from lmcore import transformer as t
    return _fingerprint(
        lmcore.attention, lmcore.causal_lm, lmcore.optim, lmcore.tokenize.train, lmcore.train,
        t.LayerNorm, t.gelu_tanh, t.FeedForward, t.DecoderBlock, t.GPTConfig, t.GPTDecoder,
        t.init_gpt2_weights, _train_gpt, small_gpt_data)


def small_gpt_hash(settings: SmallGPTSettings = SMALL_GPT) -> str:
    """10 hex digits of the SHA-256 of the settings and of the training code."""
    if not isinstance(settings, SmallGPTSettings):
        raise TypeError(bad_argument("small_gpt_hash", "settings", settings,
                                     "a SmallGPTSettings"))
    return _settings_digest(settings, _gpt_code_fingerprint())


def _gpt_folder(settings: SmallGPTSettings) -> Path:
    return cache_dir() / f"{settings.name}-{small_gpt_hash(settings)}"


@dataclasses.dataclass
class SmallGPTData:
    """The tokenizer and the token streams: training works and held-out works, each work
    followed by ``<|endoftext|>``."""
    tokenizer: Any
    train_ids: Any                  # LongTensor [n_train]
    held_out_ids: Any               # LongTensor [n_held_out]
    held_out_titles: list


@functools.lru_cache(maxsize=4)
def small_gpt_data(settings: SmallGPTSettings = SMALL_GPT) -> SmallGPTData:
    """Tokenizer (byte-level BPE trained on the training works only) and token streams."""
    from lmcore.data import load_corpus
    from lmcore.tokenize.train import train_bpe
    if not isinstance(settings, SmallGPTSettings):
        raise TypeError(bad_argument("small_gpt_data", "settings", settings,
                                     "a SmallGPTSettings"))
    documents = load_corpus(settings.corpus).documents
    titles = [d.title for d in documents]
    unknown = [t for t in settings.held_out if t not in titles]
    if unknown:
        raise ValueError(bad_argument("small_gpt_data", "settings.held_out", unknown,
                                      f"titles of the corpus, e.g. {titles[:3]}"))
    train_texts = [d.text for d in documents if d.title not in settings.held_out]
    held_texts = [d.text for d in documents if d.title in settings.held_out]
    tokenizer = train_bpe(train_texts, settings.vocab_size, special_tokens=["<|endoftext|>"])
    eos = tokenizer.eos_token_id

    def stream(texts):
        ids = []
        for text in texts:
            ids += tokenizer.encode(text) + [eos]
        return torch.tensor(ids, dtype=torch.long)

    return SmallGPTData(tokenizer, stream(train_texts), stream(held_texts),
                        [t for t in titles if t in settings.held_out])


@dataclasses.dataclass
class GPTTrainingRun:
    """What :func:`train_small_gpt` returns."""
    model: Any                      # GPTDecoder, in evaluation mode
    tokenizer: Any
    history: Any                    # lmcore.train.History
    results: dict                   # held-out perplexities: the GPT and the n-gram baselines
    folder: Optional[Path]          # where it was saved (None with save=False)


def _train_gpt(settings: SmallGPTSettings, data: SmallGPTData, progress: bool):
    from lmcore.causal_lm import causal_lm_loss, random_windows, window_log_probs
    from lmcore.train import fit
    from lmcore.transformer import GPTConfig, GPTDecoder, init_gpt2_weights
    torch.manual_seed(settings.seed)
    config = GPTConfig(vocab_size=data.tokenizer.vocab_size, max_positions=settings.context,
                       d_model=settings.d_model, num_layers=settings.num_layers,
                       num_heads=settings.num_heads, d_ff=settings.d_ff,
                       dropout=settings.dropout, positions="learned", tie_embeddings=True)
    model = init_gpt2_weights(GPTDecoder(config))
    generator = torch.Generator().manual_seed(settings.seed)

    def batches(epoch):             # windows of context + 1 tokens at random offsets
        for _ in range(settings.steps):
            yield random_windows(data.train_ids, settings.batch_size, settings.context + 1,
                                 generator)

    def evaluate(m):
        log_probs, _ = window_log_probs(m, data.held_out_ids, settings.context,
                                        limit=settings.eval_windows)
        loss = float(-log_probs.mean())
        return {"loss": loss, "perplexity": math.exp(loss)}

    history = fit(model, causal_lm_loss, batches, steps=settings.steps, lr=settings.lr,
                  warmup_steps=settings.warmup_steps, weight_decay=settings.weight_decay,
                  max_grad_norm=settings.max_grad_norm, evaluate=evaluate,
                  eval_every=settings.eval_every, progress=progress,
                  description="training a small GPT")
    return model.eval(), history


def ngram_baselines(settings: SmallGPTSettings = SMALL_GPT) -> dict:
    """Held-out perplexities of chapter 1's unigram and bigram models on the
    BPE tokens the GPT is scored on (the same predicted positions), each with
    the best smoothing of a small grid chosen on the held-out tokens
    themselves (which flatters the baselines)."""
    from lmcore.causal_lm import token_windows
    from lmcore.ngram import NGramLM
    data = small_gpt_data(settings)
    train = [str(i) for i in data.train_ids.tolist()]
    windows = token_windows(data.held_out_ids, settings.context,
                            limit=settings.eval_windows)
    held = [str(i) for i in data.held_out_ids[:windows.numel()].tolist()]
    # the positions scored, as indices into log_probs
    predicted = [p - 1 for p in range(len(held)) if p % settings.context]
    results = {}
    unigram_grid = [(k, 0.0) for k in (0.01, 0.1, 1.0)]
    bigram_grid = [(k, lam) for k in (0.01, 0.1)
                   for lam in (0.5, 0.7, 0.8, 0.9)]
    for order, grid in ((1, unigram_grid), (2, bigram_grid)):
        # the counts; k and lam only change the scores
        model = NGramLM(order, min_count=1).fit(train)
        best = None
        for k, lam in grid:
            model.k, model.lam = k, (lam if order == 2 else model.lam)
            log_probs = model.log_probs(held)[predicted]
            perplexity = float(math.exp(-log_probs.mean()))
            if best is None or perplexity < best["perplexity"]:
                best = {"perplexity": perplexity, "k": k, "lam": lam,
                        "tokens": len(predicted)}
        results["unigram" if order == 1 else "bigram"] = best
    return results


def train_small_gpt(settings: SmallGPTSettings = SMALL_GPT, *, progress: bool = True,
                    save: bool = True) -> GPTTrainingRun:
    """Train chapter 11's small GPT from scratch with ``settings``, measure it and the n-gram
    baselines on the held-out works, and (``save=True``) store it where :func:`small_gpt`
    looks, replacing an older copy. The model comes back in evaluation mode."""
    if not isinstance(settings, SmallGPTSettings):
        raise TypeError(bad_argument("train_small_gpt", "settings", settings,
                                     "a SmallGPTSettings (e.g. lmcore.zoo.SMALL_GPT)"))
    import time
    start = time.perf_counter()
    data = small_gpt_data(settings)
    data_seconds = time.perf_counter() - start
    model, history = _train_gpt(settings, data, progress)
    results = {"gpt": {"perplexity": history.final_eval["perplexity"],
                       "tokens": settings.eval_windows * (settings.context - 1)},
               **ngram_baselines(settings),
               "data_seconds": data_seconds, "train_seconds": history.seconds}
    folder = _save_gpt(settings, model, data, history, results) if save else None
    return GPTTrainingRun(model, data.tokenizer, history, results, folder)


def _save_gpt(settings, model, data, history, results) -> Path:
    return _save_to_cache(_gpt_folder(settings), model, data.tokenizer, {
        "settings": dataclasses.asdict(settings), "hash": small_gpt_hash(settings),
        "threads": torch.get_num_threads(), "held_out_documents": data.held_out_titles,
        "train_tokens": len(data.train_ids), "held_out_tokens": len(data.held_out_ids),
        "results": results, "history": history.to_dict()})


def small_gpt(settings: SmallGPTSettings = SMALL_GPT, *, progress: bool = True) -> Path:
    """The folder of chapter 11's small GPT, training it first if it is not cached.

    The folder is a Hugging Face ``GPT2LMHeadModel`` checkpoint (``config.json``,
    ``model.safetensors``) with its byte-level BPE tokenizer (``vocab.json``, ``merges.txt``)
    and ``training.json`` (settings, history, held-out perplexities of the GPT and of the
    n-gram baselines). ``transformers.GPT2LMHeadModel.from_pretrained(folder)`` and
    ``lmcore.checkpoint.load_pretrained(folder)`` both read it; :func:`load_small_gpt` gives
    ``(model, tokenizer)``.
    """
    if not isinstance(settings, SmallGPTSettings):
        raise TypeError(bad_argument("small_gpt", "settings", settings,
                                     "a SmallGPTSettings (e.g. lmcore.zoo.SMALL_GPT)"))
    folder = _gpt_folder(settings)
    if not (folder / "training.json").is_file():
        train_small_gpt(settings, progress=progress, save=True)
    return folder


def load_small_gpt(settings: SmallGPTSettings = SMALL_GPT, *,
                   progress: bool = True) -> tuple[Any, Any]:
    """``(model, tokenizer)``: chapter 11's :class:`~lmcore.transformer.GPTDecoder` in
    evaluation mode and its byte-level BPE tokenizer, trained first if not cached."""
    from lmcore.checkpoint import load_pretrained, load_tokenizer
    folder = small_gpt(settings, progress=progress)
    return load_pretrained(folder), load_tokenizer(folder)


# ============================================================================================
# Chapter 10's fine-tuned models
# ============================================================================================

FINE_TUNED = ("sentiment-small-bert", "ner-small-bert", "ner-minilm")


def fine_tuned_folder(name: str) -> Path:
    """Where chapter 10 saves its fine-tuned model ``name`` (one of :data:`FINE_TUNED`):
    a Hugging Face ``BertForSequenceClassification`` / ``BertForTokenClassification`` folder
    under the cache, ``<cache>/ch10-<name>``. (The MiniLM sentiment classifier has a home of
    its own, :func:`sentiment_classifier`, trained on demand.)"""
    if name not in FINE_TUNED:
        raise ValueError(bad_argument("fine_tuned_folder", "name", name,
                                      f"one of {list(FINE_TUNED)}"))
    return cache_dir() / f"ch10-{name}"


@dataclasses.dataclass(frozen=True)
class SentimentSettings:
    """Everything that decides one of chapter 10's sentiment classifiers (and its cache
    folder's hash): a random subsample of the training split of ``lmcore.data``'s
    crowd-labelled tweets, a head on the pooled [CLS] of ``encoder`` (``"minilm"``:
    all-MiniLM-L6-v2, the one chapter 12 serves; ``"small-bert"``: chapter 9's small BERT
    with the default :data:`SMALL_BERT` settings), ``lmcore.train.fit``."""
    train_texts: int = 2000         # texts drawn from the training split (seed sample_seed)
    sample_seed: int = 0
    epochs: int = 1                 # passes over those texts
    batch_size: int = 32
    lr: float = 1e-4                # peak learning rate (fit's warm-up then linear decay)
    max_length: int = 64            # tokens per text, [CLS] and [SEP] included
    frozen_layers: int = 0          # embeddings + this many lower blocks kept fixed
    seed: int = 0                   # the head's initialisation and the batch order
    encoder: str = "minilm"         # or "small-bert"

    @property
    def name(self) -> str:
        return (f"sentiment-{self.encoder}-t{self.train_texts}-e{self.epochs}"
                f"-f{self.frozen_layers}")


SENTIMENT = SentimentSettings()
SENTIMENT_FULL = dataclasses.replace(SENTIMENT, train_texts=12000, epochs=3)


SENTIMENT_ENCODERS = ("minilm", "small-bert")


def _check_sentiment_settings(function: str, settings: Any) -> SentimentSettings:
    if not isinstance(settings, SentimentSettings):
        raise TypeError(bad_argument(function, "settings", settings,
                                     "a SentimentSettings (e.g. lmcore.zoo.SENTIMENT)"))
    if settings.encoder not in SENTIMENT_ENCODERS:
        raise ValueError(bad_argument(function, "settings.encoder", settings.encoder,
                                      f"one of {list(SENTIMENT_ENCODERS)}"))
    return settings


def sentiment_training_set(settings: SentimentSettings = SENTIMENT
                           ) -> tuple[list[str], list[int]]:
    """``(texts, labels)``: the ``settings.train_texts`` training texts every learned method
    of chapter 10 uses, a seeded random sample of ``load_sentiment().train``."""
    import random
    from lmcore.data import load_sentiment
    settings = _check_sentiment_settings("sentiment_training_set", settings)
    pool = load_sentiment().train
    if not 1 <= settings.train_texts <= len(pool):
        raise ValueError(bad_argument("sentiment_training_set", "settings.train_texts",
                                      settings.train_texts, f"from 1 to {len(pool)}"))
    chosen = random.Random(settings.sample_seed).sample(pool, settings.train_texts)
    return [x.text for x in chosen], [x.label for x in chosen]


def _sentiment_fingerprint(encoder: str = "minilm") -> str:
    """The source code a trained sentiment classifier depends on, and the identity of its
    pretrained encoder: MiniLM's weights file, or the small BERT's cache hash."""
    import lmcore.attention
    import lmcore.checkpoint
    import lmcore.data
    import lmcore.finetune
    import lmcore.optim
    import lmcore.tokenize.wordpiece
    import lmcore.train
    from lmcore import transformer as t
    weights = t.minilm_folder() / "model.safetensors"
    identity = (f"{weights.name} {weights.stat().st_size}" if encoder == "minilm"
                else f"small-bert {settings_hash(SMALL_BERT)}")
    return _fingerprint(
        lmcore.attention, lmcore.checkpoint, lmcore.data, lmcore.finetune, lmcore.optim,
        lmcore.tokenize.wordpiece, lmcore.train,
        t.LayerNorm, t.gelu, t.FeedForward, t.EncoderBlock, t.BertConfig, t.BertEmbeddings,
        t.BertEncoder, t.BertForSequenceClassification, t._init_bert_weights, t.load_minilm,
        _train_sentiment, sentiment_training_set, extra=[identity])


def sentiment_hash(settings: SentimentSettings = SENTIMENT) -> str:
    """10 hex digits of the SHA-256 of the settings and of the training code."""
    settings = _check_sentiment_settings("sentiment_hash", settings)
    return _settings_digest(settings, _sentiment_fingerprint(settings.encoder))


def _sentiment_folder(settings: SentimentSettings) -> Path:
    return cache_dir() / f"{settings.name}-{sentiment_hash(settings)}"


@dataclasses.dataclass
class SentimentRun:
    """What :func:`train_sentiment_classifier` returns."""
    model: Any                      # BertForSequenceClassification, in evaluation mode
    tokenizer: Any
    history: Any                    # lmcore.train.History (history.seconds: training time)
    trainable: int                  # parameters that learned
    folder: Optional[Path]          # where it was saved (None with save=False)


def _train_sentiment(settings: SentimentSettings, progress: bool):
    from lmcore.data import SENTIMENT_LABELS
    from lmcore.finetune import (classification_loss, freeze,
                                 sentence_classifier, text_batches)
    from lmcore.train import fit
    from lmcore.transformer import load_minilm
    texts, labels = sentiment_training_set(settings)
    if settings.encoder == "minilm":
        encoder, tokenizer = load_minilm()
    else:
        encoder, tokenizer = load_small_bert(SMALL_BERT, progress=progress)
    torch.manual_seed(settings.seed)
    # a copy of the encoder with a fresh head
    model = sentence_classifier(encoder, SENTIMENT_LABELS)
    trainable = freeze(model, settings.frozen_layers)
    batches = text_batches(tokenizer, texts, labels,
                           batch_size=settings.batch_size,
                           max_length=settings.max_length, seed=settings.seed)
    steps = settings.epochs * len(batches(0))
    history = fit(model, classification_loss, batches, steps=steps,
                  lr=settings.lr, progress=progress,
                  description=f"fine-tuning {settings.encoder} for sentiment")
    return model.eval(), tokenizer, history, trainable


def train_sentiment_classifier(settings: SentimentSettings = SENTIMENT, *,
                               progress: bool = True, save: bool = True) -> SentimentRun:
    """Fine-tune ``settings.encoder`` for three-way sentiment on one torch thread (the
    caller's thread count is restored afterwards), deterministically, and (``save=True``)
    store it where :func:`sentiment_classifier` and :func:`sentiment_run` look, replacing an
    older copy."""
    settings = _check_sentiment_settings("train_sentiment_classifier", settings)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, tokenizer, history, trainable = _train_sentiment(settings, progress)
    finally:
        torch.set_num_threads(threads)
    folder = _save_sentiment(settings, model, tokenizer, history, trainable) if save else None
    return SentimentRun(model, tokenizer, history, trainable, folder)


def _save_sentiment(settings, model, tokenizer, history, trainable) -> Path:
    return _save_to_cache(_sentiment_folder(settings), model, tokenizer, {
        "settings": dataclasses.asdict(settings), "hash": sentiment_hash(settings),
        "threads": 1, "seconds": history.seconds, "history": history.to_dict(),
        "trainable": trainable})


def sentiment_run(settings: SentimentSettings = SENTIMENT, *,
                  progress: bool = True) -> SentimentRun:
    """The :class:`SentimentRun` of ``settings``: from the cache if it was trained before
    (the model, and the history and training time recorded when it was trained), else
    :func:`train_sentiment_classifier` now. The model is in evaluation mode; loading leaves
    every parameter trainable, so ``trainable`` is the count recorded at training."""
    from lmcore.checkpoint import load_pretrained, load_tokenizer
    from lmcore.train import History
    settings = _check_sentiment_settings("sentiment_run", settings)
    folder = _sentiment_folder(settings)
    record_file = folder / "training.json"
    if not record_file.is_file():
        return train_sentiment_classifier(settings, progress=progress, save=True)
    record = json.loads(record_file.read_text())
    return SentimentRun(load_pretrained(folder).eval(), load_tokenizer(folder),
                        History(**record["history"]), record["trainable"], folder)


def sentiment_classifier(settings: SentimentSettings = SENTIMENT, *,
                         progress: bool = True) -> Path:
    """The folder of chapter 10's MiniLM sentiment classifier (labels negative, neutral,
    positive; a Hugging Face ``BertForSequenceClassification`` folder with ``vocab.txt`` and
    ``training.json``), training it first if it is not cached (about two minutes on one
    thread with the default settings). Chapter 12's service serves it."""
    settings = _check_sentiment_settings("sentiment_classifier", settings)
    folder = _sentiment_folder(settings)
    if not (folder / "training.json").is_file():
        train_sentiment_classifier(settings, progress=progress, save=True)
    return folder


def load_sentiment_classifier(settings: SentimentSettings = SENTIMENT, *,
                              progress: bool = True) -> tuple[Any, Any]:
    """``(model, tokenizer)``: the :class:`~lmcore.transformer.BertForSequenceClassification`
    of :func:`sentiment_classifier` in evaluation mode and MiniLM's tokenizer."""
    from lmcore.checkpoint import load_pretrained, load_tokenizer
    folder = sentiment_classifier(settings, progress=progress)
    return load_pretrained(folder), load_tokenizer(folder)


# ============================================================================================
# Chapter 10's token classifiers
# ============================================================================================

def _tagger_key(encoder, train, validation, settings: dict) -> str:
    """10 hex digits of the SHA-256 of everything a tagger selection depends on: the
    encoder's configuration and weights, the training and validation sentences with their
    tags, the selection's settings and the code."""
    import lmcore.checkpoint
    import lmcore.finetune
    import lmcore.metrics
    import lmcore.optim
    import lmcore.train
    from lmcore import transformer as t
    digest = hashlib.sha256()
    digest.update(json.dumps([dataclasses.asdict(encoder.config), settings, train, validation],
                             sort_keys=True).encode())
    for name, tensor in sorted(encoder.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().contiguous().numpy().tobytes())
    digest.update(_fingerprint(
        lmcore.checkpoint, lmcore.finetune, lmcore.metrics, lmcore.optim, lmcore.train,
        t.LayerNorm, t.FusedLayerNorm, t.gelu, t._activate, t.FeedForward, t.EncoderBlock,
        t.BertConfig, t.BertEmbeddings, t.BertEncoder, t.BertForTokenClassification,
        t._init_bert_weights, tagger_selection).encode())
    return digest.hexdigest()[:10]


def tagger_selection(name: str, encoder, tokenizer, train: Sequence[tuple],
                     validation: Sequence[tuple], *, lrs: Sequence[float], epochs: int,
                     tags: Sequence[str] = (), progress: bool = False):
    """:func:`lmcore.finetune.select_tagger` for a token classifier on a copy of ``encoder``
    (a :class:`~lmcore.transformer.BertEncoder`; its pooler is not used), with tag names
    ``tags`` (default: :data:`lmcore.ner.TAGS`), cached: a second call with the same encoder
    weights, data and settings loads the chosen model and the recorded scores and training
    time from ``<cache>/tagger-<name>-<hash>`` instead of training again. Trains on one
    torch thread (the caller's count is restored)."""
    from lmcore.checkpoint import load_pretrained
    from lmcore.finetune import TaggerSelection, select_tagger
    from lmcore.transformer import BertEncoder, BertForTokenClassification
    if not isinstance(name, str) or not name.replace("-", "").isalnum():
        raise ValueError(bad_argument("tagger_selection", "name", name,
                                      "a short name of letters, digits and '-'"))
    if not isinstance(encoder, BertEncoder):
        raise TypeError(bad_argument("tagger_selection", "encoder", type(encoder).__name__,
                                     "a lmcore.transformer.BertEncoder"))
    if not tags:
        from lmcore.ner import TAGS as tags
    train = [[list(words), list(t)] for words, t in train]
    validation = [[list(words), list(t)] for words, t in validation]
    settings = {"lrs": [float(lr) for lr in lrs], "epochs": epochs, "tags": list(tags)}
    folder = cache_dir() / f"tagger-{name}-{_tagger_key(encoder, train, validation, settings)}"
    record_file = folder / "training.json"
    if record_file.is_file():
        record = json.loads(record_file.read_text())
        scores = {(lr, epoch): f1 for lr, epoch, f1 in record["scores"]}
        return TaggerSelection(load_pretrained(folder).eval(), record["lr"], record["epochs"],
                               scores, record["seconds"])
    weights = {k: v for k, v in encoder.state_dict().items() if not k.startswith("pooler")}

    def make_model():
        torch.manual_seed(0)
        model = BertForTokenClassification(encoder.config, tuple(tags))
        model.bert.load_state_dict(weights)
        return model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        selection = select_tagger(make_model, tokenizer, train, validation, lrs=lrs,
                                  epochs=epochs)
    finally:
        torch.set_num_threads(threads)
    _save_to_cache(folder, selection.model, tokenizer, {
        "name": name, **settings, "threads": 1, "lr": selection.lr,
        "epochs": selection.epochs, "seconds": selection.seconds,
        "scores": [[lr, epoch, f1] for (lr, epoch), f1 in selection.scores.items()]})
    return selection
