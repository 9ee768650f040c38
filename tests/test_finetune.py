"""lmcore.finetune (chapter 10): batches, losses, freezing, gradient x input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmcore import metrics
from lmcore.finetune import (IGNORE_INDEX, classification_loss, encode_texts, encode_words,
                             freeze, gradient_x_input, predict_tags, sentence_classifier,
                             tagged_batches, tagging_loss, text_batches, trainable_parameters)
from lmcore.tokenize import WordPiece
from lmcore.transformer import BertConfig, BertEncoder, BertForTokenClassification

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "day", "not", "ros",
         "##en", "##cr", "##antz", ".", ",", "hamlet"]
LABELS = ("negative", "neutral", "positive")


@pytest.fixture
def tok():
    return WordPiece(VOCAB)


def _encoder(pooler=True):
    torch.manual_seed(0)
    return BertEncoder(BertConfig(vocab_size=len(VOCAB), max_positions=32, d_model=16,
                                  num_layers=2, num_heads=2, d_ff=32, dropout=0.0,
                                  pooler=pooler))


def test_text_batches_pad_label_and_reshuffle_per_epoch(tok):
    texts = ["good day", "bad day .", "not good", "good", "bad"]
    factory = text_batches(tok, texts, [2, 0, 0, 2, 0], batch_size=2, seed=1)
    first = factory(0)
    assert [len(b["labels"]) for b in first] == [2, 2, 1]
    assert sorted(int(y) for b in first for y in b["labels"]) == [0, 0, 0, 2, 2]
    b = first[0]
    assert b["input_ids"].shape == b["attention_mask"].shape
    assert (b["input_ids"][:, 0] == tok.cls_token_id).all()
    orders = [[int(y) for b in factory(e) for y in b["labels"]] for e in range(4)]
    assert factory(0)[0]["labels"].tolist() == first[0]["labels"].tolist()   # seeded
    assert len({tuple(o) for o in orders}) > 1                                # reshuffled


def test_encode_texts_truncates_to_max_length_keeping_sep(tok):
    enc = encode_texts(tok, ["good " * 20, "bad"], max_length=6)
    assert enc["input_ids"].shape == (2, 6)
    assert enc["input_ids"][0, -1] == tok.sep_token_id
    assert enc["attention_mask"][1].tolist() == [1, 1, 1, 0, 0, 0]


def test_classification_loss_is_mean_cross_entropy(tok):
    model = sentence_classifier(_encoder(), LABELS).eval()
    batch = text_batches(tok, ["good day", "bad"], [2, 0], batch_size=2)(0)[0]
    loss, info = classification_loss(model, batch)
    logits = model(batch["input_ids"], attention_mask=batch["attention_mask"])
    manual = -logits.log_softmax(-1)[torch.arange(2), batch["labels"]].mean()
    assert torch.allclose(loss, manual)
    assert 0.0 <= info["accuracy"] <= 1.0


def test_freeze_counts_and_blocks_gradients():
    model = sentence_classifier(_encoder(), LABELS)
    total = trainable_parameters(model)
    head = sum(p.numel() for p in model.classifier.parameters())
    assert freeze(model, 0) == total
    assert freeze(model, "all") == head
    lower = freeze(model, 1)
    assert head < lower < total
    assert not any(p.requires_grad for p in model.bert.embeddings.parameters())
    assert not any(p.requires_grad for p in model.bert.blocks[0].parameters())
    assert all(p.requires_grad for p in model.bert.blocks[1].parameters())
    with pytest.raises(ValueError, match="layers"):
        freeze(model, 3)


def test_gradient_x_input_equals_autograd_and_first_order_change(tok):
    model = sentence_classifier(_encoder(), LABELS)
    freeze(model, "all")                      # works with frozen embeddings too
    a = gradient_x_input(model, tok, "good day not bad", target=1)
    enc = encode_texts(tok, ["good day not bad"])
    table = model.bert.embeddings.token_embeddings
    e = table(enc["input_ids"]).detach().requires_grad_(True)
    handle = table.register_forward_hook(lambda m, i, o: e)
    z = model(enc["input_ids"], attention_mask=enc["attention_mask"])[0, 1]
    handle.remove()
    (g,) = torch.autograd.grad(z, e)
    assert np.allclose(a["scores"], (e * g).sum(-1)[0].tolist(), atol=1e-6)
    assert a["tokens"] == ["[CLS]", "good", "day", "not", "bad", "[SEP]"]
    assert abs(sum(a["probabilities"]) - 1) < 1e-6 and a["target"] == 1
    assert model.training                     # mode restored
    with pytest.raises(ValueError, match="target"):
        gradient_x_input(model, tok, "good", target=3)
    with pytest.raises(ValueError, match="text"):
        gradient_x_input(model, tok, "  ")


def test_tagged_batches_label_first_subwords_only(tok):
    words = ["hamlet", ",", "rosencrantz", "."]
    ids, word_ids = encode_words(tok, words)
    assert tok.convert_ids_to_tokens(ids) == ["[CLS]", "hamlet", ",", "ros", "##en", "##cr",
                                              "##antz", ".", "[SEP]"]
    batch = tagged_batches(tok, [words], [["B-PER", "O", "B-PER", "O"]],
                           ("O", "B-PER"), batch_size=1)(0)[0]
    assert batch["labels"][0].tolist() == [IGNORE_INDEX, 1, 0, 1, IGNORE_INDEX, IGNORE_INDEX,
                                           IGNORE_INDEX, 0, IGNORE_INDEX]
    model = BertForTokenClassification(_encoder(pooler=False).config, ("O", "B-PER"))
    loss, _ = tagging_loss(model, batch)
    assert torch.isfinite(loss)
    tags = predict_tags(model, tok, [words])
    assert len(tags[0]) == 4 and set(tags[0]) <= {"O", "B-PER"}
    with pytest.raises(ValueError, match="one tag per word"):
        tagged_batches(tok, [words], [["O"]], ("O", "B-PER"))
    with pytest.raises(ValueError, match="B-LOC"):
        tagged_batches(tok, [words], [["B-LOC", "O", "O", "O"]], ("O", "B-PER"))


def test_paired_bootstrap_difference_is_exact_and_brackets_it():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    a = np.where(rng.random(300) < 0.8, y, (y + 1) % 3)
    b = np.where(rng.random(300) < 0.5, y, (y + 1) % 3)
    diff, lo, hi = metrics.paired_bootstrap_difference(metrics.accuracy, y, a, b,
                                                       num_samples=200)
    assert diff == pytest.approx(metrics.accuracy(y, a) - metrics.accuracy(y, b))
    assert lo < diff < hi and lo > 0


def test_select_tagger_keeps_the_best_validation_score_and_its_weights(tok):
    from lmcore.finetune import select_tagger
    tags = ("O", "B-PER")
    data = [(["hamlet", ",", "good", "day", "."], ["B-PER", "O", "O", "O", "O"]),
            (["not", "a", "bad", "day", ",", "hamlet"], ["O", "O", "O", "O", "O", "B-PER"])]

    def make():
        torch.manual_seed(0)
        return BertForTokenClassification(_encoder(pooler=False).config, tags)

    chosen = select_tagger(make, tok, data * 4, data, lrs=(1e-4, 3e-2), epochs=2,
                           batch_size=4)
    assert set(chosen.scores) == {(1e-4, 1), (1e-4, 2), (3e-2, 1), (3e-2, 2)}
    best = max(chosen.scores.values())
    assert chosen.scores[(chosen.lr, chosen.epochs)] == best
    assert not chosen.model.training and chosen.seconds > 0
    words, gold = [w for w, _ in data], [t for _, t in data]
    again = metrics.entity_scores(gold, predict_tags(chosen.model, tok, words))["micro"]["f1"]
    assert again == pytest.approx(best)                 # the kept weights give the kept score
    with pytest.raises(ValueError, match="'lrs' argument of select_tagger"):
        select_tagger(make, tok, data, data, lrs=[], epochs=1)
    with pytest.raises(TypeError, match="'make_model' argument of select_tagger"):
        select_tagger("model", tok, data, data, lrs=[1e-3], epochs=1)


def _varied_texts(n=19):
    words = ["good", "bad", "day", "not", "hamlet", ".", ","]
    return [" ".join(words[(i + j) % len(words)] for j in range(1 + (7 * i) % 11))
            for i in range(n)]


def _padded_gradients(model, loss):
    model.zero_grad()
    loss.backward()
    return {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}


def test_losses_by_length_groups_equal_the_padded_batch_in_value_and_gradient(tok):
    texts = _varied_texts()
    model = sentence_classifier(_encoder(), LABELS).eval()
    batch = text_batches(tok, texts, [i % 3 for i in range(len(texts))],
                         batch_size=len(texts))(0)[0]
    assert len(set(batch["attention_mask"].sum(1).tolist())) > 3    # several lengths
    padded = torch.nn.functional.cross_entropy(
        model(batch["input_ids"], attention_mask=batch["attention_mask"]), batch["labels"])
    expected = _padded_gradients(model, padded)
    grouped, _ = classification_loss(model, batch)                  # 19 rows: 3 groups
    got = _padded_gradients(model, grouped)
    assert torch.allclose(grouped, padded, atol=1e-6)
    assert expected.keys() == got.keys()
    assert all(torch.allclose(got[k], expected[k], atol=1e-6) for k in expected)

    tagger = BertForTokenClassification(_encoder(pooler=False).config, ("O", "B-PER")).eval()
    sentences = [t.split() for t in texts]
    tags = [["B-PER" if w == "hamlet" else "O" for w in s] for s in sentences]
    batch = tagged_batches(tok, sentences, tags, ("O", "B-PER"),
                           batch_size=len(texts))(0)[0]
    logits = tagger(batch["input_ids"], attention_mask=batch["attention_mask"])
    padded = torch.nn.functional.cross_entropy(logits.flatten(0, 1),
                                               batch["labels"].flatten(),
                                               ignore_index=IGNORE_INDEX)
    expected = _padded_gradients(tagger, padded)
    grouped, _ = tagging_loss(tagger, batch)
    got = _padded_gradients(tagger, grouped)
    assert torch.allclose(grouped, padded, atol=1e-6)
    assert all(torch.allclose(got[k], expected[k], atol=1e-6) for k in expected)


def test_inference_in_length_order_returns_results_in_the_given_order(tok):
    from lmcore.finetune import class_probabilities, pooled_features
    texts = _varied_texts()
    model = sentence_classifier(_encoder(), LABELS)
    one_by_one = torch.cat([class_probabilities(model, tok, [t]) for t in texts])
    assert torch.allclose(class_probabilities(model, tok, texts, batch_size=4), one_by_one,
                          atol=1e-6)
    encoder = _encoder()
    alone = torch.cat([pooled_features(encoder, tok, [t]) for t in texts])
    assert torch.allclose(pooled_features(encoder, tok, texts, batch_size=5), alone,
                          atol=1e-6)
    tagger = BertForTokenClassification(_encoder(pooler=False).config, ("O", "B-PER"))
    sentences = [t.split() for t in texts]
    assert predict_tags(tagger, tok, sentences, batch_size=3) == [
        predict_tags(tagger, tok, [s])[0] for s in sentences]
    with pytest.raises(ValueError, match="batch_size"):
        class_probabilities(model, tok, texts, batch_size=0)
