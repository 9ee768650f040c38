"""Tiny randomly initialised checkpoints for the service's tests (made with transformers).

Imported by ``tests/test_serve*.py``: the fixtures are module-scoped and write their folders
under pytest's temporary directory; nothing is downloaded."""

from __future__ import annotations

import pytest


def make_tiny_gpt2(folder, seed: int = 0, n_positions: int = 128):
    """A random GPT-2 layout model (2 layers, width 64, GPT-2's 50,257 tokens) in ``folder``.

    ``initializer_range`` 0.3 spreads the logits, so no two tokens tie in an argmax."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=50257, n_positions=n_positions, n_embd=64, n_layer=2,
                        n_head=4, initializer_range=0.3)
    GPT2LMHeadModel(config).eval().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_gpt2_folder(tmp_path_factory):
    return make_tiny_gpt2(tmp_path_factory.mktemp("models") / "tiny-gpt")


@pytest.fixture(scope="module")
def tiny_bert_classifier_folder(tmp_path_factory):
    """A random BertForSequenceClassification (MiniLM's vocabulary, labels negative and
    positive), the layout of chapter 10's fine-tuned classifier."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128,
                        num_labels=2, id2label={0: "negative", 1: "positive"},
                        label2id={"negative": 0, "positive": 1})
    folder = tmp_path_factory.mktemp("models") / "tiny-sentiment"
    BertForSequenceClassification(config).eval().save_pretrained(folder)
    return folder
