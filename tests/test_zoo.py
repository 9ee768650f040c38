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


# ---------------------------------------------------------------- chapter 10's classifier
SENTIMENT_TINY = dataclasses.replace(zoo.SENTIMENT, train_texts=48, batch_size=16,
                                     max_length=16)


def test_the_sentiment_training_set_is_a_fixed_seeded_sample():
    texts, labels = zoo.sentiment_training_set(SENTIMENT_TINY)
    assert (texts, labels) == zoo.sentiment_training_set(SENTIMENT_TINY)
    assert len(texts) == len(labels) == 48 and set(labels) <= {0, 1, 2}
    other = zoo.sentiment_training_set(dataclasses.replace(SENTIMENT_TINY, sample_seed=1))
    assert other[0] != texts
    assert len(zoo.sentiment_training_set()[0]) == zoo.SENTIMENT.train_texts


def test_the_sentiment_hash_changes_with_any_setting():
    base = zoo.sentiment_hash(SENTIMENT_TINY)
    assert base == zoo.sentiment_hash(dataclasses.replace(SENTIMENT_TINY))
    for change in ({"lr": 2e-4}, {"epochs": 2}, {"frozen_layers": 4}, {"seed": 1},
                   {"encoder": "small-bert"}):
        assert zoo.sentiment_hash(dataclasses.replace(SENTIMENT_TINY, **change)) != base


def test_the_sentiment_classifier_trains_deterministically_once_then_loads(cache):
    torch.set_num_threads(2)                      # the trainer uses one thread and restores
    folder = zoo.sentiment_classifier(SENTIMENT_TINY, progress=False)
    assert torch.get_num_threads() == 2
    assert folder.parent == cache and zoo.sentiment_hash(SENTIMENT_TINY) in folder.name
    record = json.loads((folder / "training.json").read_text())
    assert record["threads"] == 1 and len(record["history"]["train_loss"]) == 3
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert zoo.sentiment_classifier(SENTIMENT_TINY, progress=False) == folder  # cached
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp
    model, tokenizer = zoo.load_sentiment_classifier(SENTIMENT_TINY, progress=False)
    assert model.labels == ("negative", "neutral", "positive") and not model.training
    again = zoo.train_sentiment_classifier(SENTIMENT_TINY, progress=False, save=False)
    for name, tensor in again.model.state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name]), name
    assert again.folder is None


def test_a_sentiment_run_is_trained_once_then_loaded_with_its_recorded_history(cache):
    trained = zoo.sentiment_run(SENTIMENT_TINY, progress=False)
    stamp = (trained.folder / "model.safetensors").stat().st_mtime_ns
    loaded = zoo.sentiment_run(SENTIMENT_TINY, progress=False)
    assert (loaded.folder / "model.safetensors").stat().st_mtime_ns == stamp   # not retrained
    assert loaded.folder == trained.folder == zoo.sentiment_classifier(SENTIMENT_TINY)
    assert loaded.history.to_dict() == trained.history.to_dict()
    assert loaded.history.seconds == trained.history.seconds > 0
    assert loaded.trainable == trained.trainable and not loaded.model.training
    for name, tensor in trained.model.state_dict().items():
        assert torch.equal(tensor, loaded.model.state_dict()[name]), name


def _tiny_tagger_data():
    from lmcore.transformer import BertConfig, BertEncoder
    from lmcore.tokenize import WordPiece
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hamlet", "speaks", "to",
             "horatio", "in", "denmark", "."]
    torch.manual_seed(0)
    encoder = BertEncoder(BertConfig(vocab_size=len(vocab), max_positions=16, d_model=8,
                                     num_layers=1, num_heads=2, d_ff=16, dropout=0.0))
    sentences = [(["Hamlet", "speaks", "to", "Horatio", "."], ["B-PER", "O", "O", "B-PER", "O"]),
                 (["Hamlet", "in", "Denmark", "."], ["B-PER", "O", "B-LOC", "O"])] * 4
    return encoder, WordPiece(vocab), sentences


def test_a_tagger_selection_is_trained_once_then_loaded_with_its_scores(cache):
    encoder, tokenizer, sentences = _tiny_tagger_data()
    first = zoo.tagger_selection("tiny", encoder, tokenizer, sentences, sentences[:2],
                                 lrs=(1e-3, 1e-2), epochs=2)
    folders = list(cache.glob("tagger-tiny-*"))
    assert len(folders) == 1 and len(first.scores) == 4
    stamp = (folders[0] / "model.safetensors").stat().st_mtime_ns
    again = zoo.tagger_selection("tiny", encoder, tokenizer, sentences, sentences[:2],
                                 lrs=(1e-3, 1e-2), epochs=2)
    assert (folders[0] / "model.safetensors").stat().st_mtime_ns == stamp
    assert (again.lr, again.epochs, again.scores, again.seconds) == (
        first.lr, first.epochs, first.scores, first.seconds)
    assert again.model.labels == first.model.labels and not again.model.training
    for name, tensor in first.model.state_dict().items():
        assert torch.equal(tensor, again.model.state_dict()[name]), name
    # other data, other settings or other encoder weights: another folder
    zoo.tagger_selection("tiny", encoder, tokenizer, sentences[:6], sentences[:2],
                         lrs=(1e-3, 1e-2), epochs=2)
    zoo.tagger_selection("tiny", encoder, tokenizer, sentences, sentences[:2],
                         lrs=(1e-3,), epochs=2)
    with torch.no_grad():
        encoder.embeddings.token_embeddings.weight[5] += 1.0
    zoo.tagger_selection("tiny", encoder, tokenizer, sentences, sentences[:2],
                         lrs=(1e-3, 1e-2), epochs=2)
    assert len(list(cache.glob("tagger-tiny-*"))) == 4


def test_bad_tagger_arguments_are_named():
    encoder, tokenizer, sentences = _tiny_tagger_data()
    with pytest.raises(ValueError, match="'name' argument of tagger_selection"):
        zoo.tagger_selection("../up", encoder, tokenizer, sentences, sentences, lrs=(1e-3,),
                             epochs=1)
    with pytest.raises(TypeError, match="'encoder' argument of tagger_selection"):
        zoo.tagger_selection("tiny", "minilm", tokenizer, sentences, sentences, lrs=(1e-3,),
                             epochs=1)


def test_freezing_the_lower_layers_trains_fewer_weights():
    full = zoo.train_sentiment_classifier(SENTIMENT_TINY, progress=False, save=False)
    lower = zoo.train_sentiment_classifier(
        dataclasses.replace(SENTIMENT_TINY, frozen_layers=4), progress=False, save=False)
    assert lower.trainable < full.trainable / 2
    before = full.model.bert.blocks[0].state_dict()
    after = lower.model.bert.blocks[0].state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)   # full one moved
    from lmcore.transformer import load_minilm
    pretrained = load_minilm()[0].blocks[0].state_dict()
    assert all(torch.equal(pretrained[k], after[k]) for k in after)     # frozen one did not


def test_bad_sentiment_settings_are_named():
    with pytest.raises(TypeError, match="'settings' argument of sentiment_classifier"):
        zoo.sentiment_classifier({"epochs": 1})
    with pytest.raises(ValueError, match="train_texts"):
        zoo.sentiment_training_set(dataclasses.replace(zoo.SENTIMENT, train_texts=0))
    with pytest.raises(ValueError, match="'name' argument of fine_tuned_folder"):
        zoo.fine_tuned_folder("sentiment-minilm")
    with pytest.raises(ValueError, match="'settings.encoder' argument of sentiment_run.*"
                                         "small-bert"):
        zoo.sentiment_run(dataclasses.replace(zoo.SENTIMENT, encoder="gpt"))
