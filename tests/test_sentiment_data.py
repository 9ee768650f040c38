"""Chapter 10's labelled sentiment text and its baselines: a clean, fixed, disjoint split, and
baselines that are what they claim (VADER unchanged, logistic regression equal to
scikit-learn's on the same features)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lmcore import baselines
from lmcore.data import SENTIMENT_LABELS, clean_tweet, load_sentiment


def test_mojibake_is_removed_and_lost_apostrophes_come_back():
    assert clean_tweet("I don\u0562_\ufffd\ufffd_\ufffd\ufffdt want it &amp; more") == \
        "I don't want it & more"
    assert clean_tweet("\u0562_\ufffd\u0381\ufffd@edasneak: hi  there") == "@edasneak: hi there"


def test_the_split_is_clean_disjoint_and_fixed():
    data = load_sentiment()
    parts = {"train": data.train, "validation": data.validation, "test": data.test}
    texts = {name: {item.text.lower() for item in items} for name, items in parts.items()}
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["validation"]
    assert not texts["validation"] & texts["test"]
    everything = data.train + data.validation + data.test
    assert all(t.text.isascii() and t.text.strip() == t.text and t.text for t in everything)
    assert {t.label for t in everything} == set(range(len(SENTIMENT_LABELS)))
    total = len(everything)
    assert 0.08 < len(data.test) / total < 0.12 and 0.08 < len(data.validation) / total < 0.12
    # raising min_confidence only removes rows; it never moves a row to another split
    strict = load_sentiment(min_confidence=0.8)
    assert {t.text for t in strict.test} <= {t.text for t in data.test}
    assert all(t.confidence >= 0.8 for t in strict.train)
    assert any(math.isnan(t.confidence) for t in data.train)


def test_bad_min_confidence_is_named():
    with pytest.raises(ValueError, match="'min_confidence'"):
        load_sentiment(min_confidence=2)


def test_vader_thresholds_maximise_macro_f1_on_the_grid():
    compound = np.array([-0.9, -0.5, -0.1, 0.0, 0.1, 0.6, 0.9])
    labels = [0, 0, 1, 1, 1, 2, 2]
    low, high = baselines.fit_vader_thresholds(compound, labels)
    assert list(baselines.vader_classes(compound, low, high)) == labels
    assert baselines.vader_compound(["What a wonderful, lovely day!"])[0] > 0.5


def test_bag_of_words_equals_scikit_learn_logistic_regression():
    linear_model = pytest.importorskip("sklearn.linear_model")
    texts = ["good good film", "bad film", "awful bad", "great good", "boring film",
             "good fun", "bad bad bad", "lovely great", "film was bad", "good film"] * 3
    labels = [2, 0, 0, 2, 1, 2, 0, 2, 0, 2] * 3
    ours = baselines.BagOfWordsClassifier(min_count=1, l2=0.1, max_iter=500).fit(texts, labels)
    x = ours.features(texts).to_dense().numpy()
    theirs = linear_model.LogisticRegression(C=1 / (0.1 * len(texts)), tol=1e-10,
                                             max_iter=5000).fit(x, labels)
    assert np.allclose(ours.predict_proba(texts), theirs.predict_proba(x), atol=1e-3)


def test_bag_of_words_names_bad_labels():
    with pytest.raises(ValueError, match="'labels'"):
        baselines.BagOfWordsClassifier().fit(["a", "b"], [0, 5])
