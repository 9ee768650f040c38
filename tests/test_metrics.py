"""Chapter 10's scores: entity spans and scores equal seqeval's, class scores equal
scikit-learn's, and word labels land on the first subword of each word."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmcore.finetune import IGNORE_INDEX, align_labels
from lmcore.metrics import (accuracy, bootstrap_interval, confusion_matrix, entity_scores,
                            entity_spans, f1_scores, macro_f1)

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
sentences = st.lists(st.sampled_from(TAGS), min_size=1, max_size=12)


def test_entity_spans_follow_conlleval_on_a_worked_example():
    tags = ["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "I-PER", "O", "I-PER"]
    assert entity_spans(tags) == [("PER", 0, 2), ("LOC", 3, 5), ("LOC", 5, 6),
                                  ("PER", 6, 7), ("PER", 8, 9)]


@pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")
@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(sentences, st.data()), min_size=1, max_size=5))
def test_entity_scores_equal_seqeval(pairs):
    seqeval_metrics = pytest.importorskip("seqeval.metrics")
    gold, pred = [], []
    for tags, data in pairs:
        gold.append(tags)
        pred.append(data.draw(st.lists(st.sampled_from(TAGS), min_size=len(tags),
                                       max_size=len(tags))))
    ours = entity_scores(gold, pred)
    theirs = seqeval_metrics.classification_report(gold, pred, output_dict=True,
                                                   zero_division=0)
    for kind, row in ours.items():
        reference = theirs["micro avg" if kind == "micro" else kind]
        for key, name in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score"),
                          ("support", "support")):
            assert row[key] == pytest.approx(reference[name]), (kind, key)
    assert set(ours) - {"micro"} == set(theirs) - {"micro avg", "macro avg", "weighted avg"}


def test_entity_scores_by_hand():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-PER", "O", "O", "B-LOC"]]          # the person is cut short: a miss
    scores = entity_scores(gold, pred)
    assert scores["LOC"]["f1"] == 1.0 and scores["PER"]["f1"] == 0.0
    assert scores["micro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}


def test_bad_tags_and_lengths_are_named():
    with pytest.raises(ValueError, match="'tags'.*'X-PER' at position 1"):
        entity_spans(["O", "X-PER"])
    with pytest.raises(ValueError, match="Sentence 0 has 2 gold tags but 1"):
        entity_scores([["O", "O"]], [["O"]])
    with pytest.raises(TypeError, match="'gold'"):
        entity_scores("B-PER", [["O"]])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=40))
def test_class_scores_equal_scikit_learn(pairs):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    y_true, y_pred = [p[0] for p in pairs], [p[1] for p in pairs]
    labels = [0, 1, 2]
    assert accuracy(y_true, y_pred) == pytest.approx(sklearn_metrics.accuracy_score(y_true, y_pred))
    assert np.array_equal(confusion_matrix(y_true, y_pred, labels),
                          sklearn_metrics.confusion_matrix(y_true, y_pred, labels=labels))
    reference = sklearn_metrics.f1_score(y_true, y_pred, labels=labels, average=None,
                                         zero_division=0)
    assert list(f1_scores(y_true, y_pred, labels).values()) == pytest.approx(list(reference))
    assert macro_f1(y_true, y_pred, labels) == pytest.approx(float(np.mean(reference)))


def test_confusion_matrix_refuses_labels_it_was_not_given():
    with pytest.raises(ValueError, match="'y_pred'.*not in 'labels'"):
        confusion_matrix(["a", "b"], ["a", "c"], labels=["a", "b"])
    with pytest.raises(ValueError, match="same length"):
        accuracy([1, 2], [1])


def test_bootstrap_interval_brackets_the_metric_and_narrows_with_more_data():
    rng = np.random.default_rng(0)
    small_true = rng.integers(0, 2, 100)
    small_pred = np.where(rng.random(100) < 0.8, small_true, 1 - small_true)
    big_true = rng.integers(0, 2, 2000)
    big_pred = np.where(rng.random(2000) < 0.8, big_true, 1 - big_true)
    low, high = bootstrap_interval(accuracy, small_true, small_pred)
    assert low <= accuracy(small_true, small_pred) <= high
    big_low, big_high = bootstrap_interval(accuracy, big_true, big_pred)
    assert big_high - big_low < (high - low) / 2       # about 1/sqrt(20) as wide
    with pytest.raises(ValueError, match="'level'"):
        bootstrap_interval(accuracy, small_true, small_pred, level=1.5)


def test_align_labels_gives_each_word_one_labelled_token():
    # [CLS] Ros ##en ##cr ##antz is dead [SEP]
    word_ids = [None, 0, 0, 0, 0, 1, 2, None]
    assert align_labels(word_ids, [1, 0, 0]) == [IGNORE_INDEX, 1, IGNORE_INDEX, IGNORE_INDEX,
                                                 IGNORE_INDEX, 0, 0, IGNORE_INDEX]


def test_align_labels_matches_a_real_fast_tokenizer():
    transformers = pytest.importorskip("transformers")
    from lmcore.transformer import minilm_folder
    tokenizer = transformers.BertTokenizerFast.from_pretrained(str(minilm_folder()))
    words = ["Rosencrantz", "and", "Guildenstern", "are", "dead"]
    encoding = tokenizer(words, is_split_into_words=True)
    labels = align_labels(encoding.word_ids(), [1, 0, 1, 0, 0])
    kept = [(token, label) for token, label in zip(encoding.tokens(), labels)
            if label != IGNORE_INDEX]
    assert [label for _, label in kept] == [1, 0, 1, 0, 0]
    assert all(not token.startswith("##") for token, _ in kept)
    assert len(encoding.tokens()) > len(words) + 2      # some words were split


def test_align_labels_names_a_word_past_the_labels():
    with pytest.raises(ValueError, match="word 3 at token 2.*only 2 labels"):
        align_labels([None, 0, 3], [0, 1])
    with pytest.raises(ValueError, match="word indices"):
        align_labels([-1], [0])
