"""lmcore.ner (chapter 10): the silver labeller and the hand-labelled gold set."""

from __future__ import annotations

import collections

import pytest

from lmcore import ner
from lmcore.metrics import entity_spans


def test_gold_set_has_150_plus_sentences_with_one_valid_tag_per_token():
    gold = ner.load_gold()
    assert len(gold) >= 150
    assert all(len(words) == len(tags) and set(tags) <= set(ner.TAGS) for words, tags in gold)
    counts = collections.Counter(t for _, tags in gold for t, _, _ in entity_spans(tags))
    assert counts == {"PER": 55, "LOC": 17}           # as chapters/data/README.md says


def test_gold_plays_are_never_read_by_the_silver_labeller():
    read = {p.name for p in ner.play_files()} - set(ner.HELD_OUT_PLAYS)
    assert len(read) == 34 and not read & set(ner.HELD_OUT_PLAYS)


def test_silver_tags_are_bio_runs_of_listed_capitalised_words():
    tags = ner.silver_tags(["Good", "Don", "Pedro", "of", "Arragon", "and", "pedro", "."],
                           frozenset({"Don", "Pedro"}), frozenset({"Arragon"}))
    assert tags == ["O", "B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]


def test_play_lists_read_cast_and_scene_settings():
    hamlet = next(p for p in ner.play_files() if p.name == "hamlet_gut.txt")
    persons, places = ner.play_lists(str(hamlet))
    assert {"Hamlet", "Horatio", "Ophelia", "Polonius"} <= persons
    assert "Elsinore" in places and "King" not in persons


def test_words_splits_possessives_and_punctuation():
    assert ner.words("Hamlet's sword, drawn!") == ["Hamlet", "'s", "sword", ",", "drawn", "!"]
    with pytest.raises(TypeError, match="text"):
        ner.words(None)


def test_silver_on_gold_is_aligned_with_the_gold_tokens():
    gold = ner.load_gold()
    silver = ner.silver_on_gold()
    assert [len(t) for t in silver] == [len(w) for w, _ in gold]
