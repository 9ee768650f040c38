"""lmcore.zoo (chapter 9): the small BERT is trained once, cached under a hash of its settings
and code, and loaded from the cache afterwards."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from lmcore import zoo

TINY = dataclasses.replace(zoo.SMALL_BERT, vocab_size=400, d_model=16, num_layers=1,
                           num_heads=2, d_ff=32, max_length=32, steps=3, warmup_steps=1,
                           eval_every=3, eval_pairs=64)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LMCORE_CACHE", str(tmp_path))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path
    torch.set_num_threads(before)


def test_cache_dir_follows_the_environment(cache, monkeypatch):
    assert zoo.cache_dir() == cache
    monkeypatch.delenv("LMCORE_CACHE")
    assert zoo.cache_dir().parts[-2:] == (".cache", "lmcore")


def test_the_hash_changes_with_any_setting():
    assert zoo.settings_hash(TINY) == zoo.settings_hash(dataclasses.replace(TINY))
    assert zoo.settings_hash(TINY) != zoo.settings_hash(dataclasses.replace(TINY, steps=4))
    assert len(zoo.settings_hash(TINY)) == 10


def test_small_bert_trains_once_then_loads_from_the_cache(cache):
    folder = zoo.small_bert(TINY, progress=False)
    assert folder.parent == cache and zoo.settings_hash(TINY) in folder.name
    record = json.loads((folder / "training.json").read_text())
    assert record["settings"]["steps"] == 3 and len(record["history"]["train_loss"]) == 3
    assert {"mlm_accuracy", "nsp_accuracy"} <= set(record["final_eval"])
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert zoo.small_bert(TINY, progress=False) == folder            # no retraining
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    model, tokenizer = zoo.load_small_bert(TINY, progress=False)
    assert not model.training and model.config.vocab_size == tokenizer.vocab_size <= 400


def test_bad_settings_are_named():
    with pytest.raises(TypeError, match="'settings' argument of small_bert"):
        zoo.small_bert({"steps": 3})


def test_the_measured_held_out_pairs_are_half_isnext_from_both_corpora():
    data = zoo.small_bert_data(TINY)
    flags = [x.is_next for x in data.eval_instances]
    assert len(flags) == TINY.eval_pairs and sum(flags) == TINY.eval_pairs // 2
    # the evaluation batches hold exactly these pairs, in this order
    assert torch.cat([b["is_next"] for b in data.eval_batches]).tolist() == flags
    assert set(data.held_out_corpora) == {"shakespeare", "stdlib"}
    assert len(data.held_out_corpora) == len(data.held_out_titles)
