"""lmcore: the small shared package of *Language Models from First Principles*.

Every chapter of the book imports it; every reusable piece of code has its one home here, one
module per idea. The public names below are imported lazily, so ``import lmcore`` is instant
and a chapter that needs only numpy never pays for importing torch.

=========================  ==============================  =========
name                       module                          chapter
=========================  ==============================  =========
load_corpus, corpus_words  lmcore.data                     1, 3
cosine_similarity, ...     lmcore.cooccurrence             3
spearman, average_ranks    lmcore.stats                    3
word_similarity_pairs      lmcore.data                     3
check                      lmcore.exercises                all
fit, plot_history          lmcore.train                    9-13
AdamW                      lmcore.optim                    7, 9
save/load_pretrained       lmcore.checkpoint               9-12
BertForPretraining         lmcore.transformer              9
small_bert (a folder)      lmcore.zoo                      9-12
fit_power_law, ...         lmcore.scaling                  13
accumulated_gradients, ..  lmcore.efficiency               13
attention_to_positions     lmcore.interpret                13
=========================  ==============================  =========
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data (chapters 1, 3)
    "load_corpus": "lmcore.data",
    "corpus_words": "lmcore.data",
    "word_tokens": "lmcore.data",
    "word_similarity_pairs": "lmcore.data",
    # rank correlation with human judgements (chapter 3)
    "spearman": "lmcore.stats",
    "average_ranks": "lmcore.stats",
    # the smallest language models (chapter 1)
    "NGramLM": "lmcore.ngram",
    # words as vectors (chapter 3)
    "cosine_similarity": "lmcore.cooccurrence",
    "cooccurrence_matrix": "lmcore.cooccurrence",
    "cooccurrence_probabilities": "lmcore.cooccurrence",
    "ppmi": "lmcore.cooccurrence",
    "nearest_neighbors": "lmcore.cooccurrence",
    "truncated_svd": "lmcore.cooccurrence",
    # notebook helpers (every chapter)
    "set_seed": "lmcore.notebook",
    "show_source": "lmcore.notebook",
    # exercises (every chapter)
    "check": "lmcore.exercises",
    # attention and the Transformer (chapters 4-6)
    "scaled_dot_product_attention": "lmcore.attention",
    "MultiHeadAttention": "lmcore.attention",
    # pretraining objectives and optimisation (chapters 7-8)
    "mask_tokens": "lmcore.pretrain",
    "mlm_loss": "lmcore.pretrain",
    "nsp_loss": "lmcore.pretrain",
    "gradient_descent": "lmcore.optim",
    "AdamW": "lmcore.optim",
    # training, checkpoints and the book's trained models (chapter 9)
    "fit": "lmcore.train",
    "plot_history": "lmcore.train",
    "save_pretrained": "lmcore.checkpoint",
    "load_pretrained": "lmcore.checkpoint",
    "BertForPretraining": "lmcore.transformer",
    # fine-tuning (chapter 10)
    "BertForSequenceClassification": "lmcore.transformer",
    "BertForTokenClassification": "lmcore.transformer",
    "align_labels": "lmcore.finetune",
    "entity_scores": "lmcore.metrics",
    # generating text (chapter 11)
    "generate": "lmcore.generate",
    "top_k_filter": "lmcore.generate",
    "top_p_filter": "lmcore.generate",
    # models as a service (chapter 12)
    "ServiceConfig": "lmcore.serve",
    "create_app": "lmcore.serve",
    "start_server": "lmcore.serve",
    # outlook: scale, efficiency, interpretability (chapter 13)
    "fit_power_law": "lmcore.scaling",
    "non_embedding_parameters": "lmcore.scaling",
    "scaling_sweep": "lmcore.scaling",
    "accumulated_gradients": "lmcore.efficiency",
    "checkpoint_blocks": "lmcore.efficiency",
    "saved_tensor_bytes": "lmcore.efficiency",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'lmcore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # cache: the next access skips __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
