"""The interactive views of chapters 7 (loss landscape) and 8 (masking).

The static views are opened from a file in headless Chromium with every request recorded: they
must render, react to a slider or a click, show text as text, and ask the network for nothing.
The live widgets' callbacks are tested in Python.
"""

from __future__ import annotations

import html

import numpy as np
import pytest

from lmcore.optim import momentum_descent
from lmcore.pretrain import IGNORE_INDEX
from lmcore.viz.landscape import (LandscapeWidget, landscape_trajectory, landscape_view,
                                  quadratic_problem, verdict)
from lmcore.viz.masking import MaskingWidget, masking_sample, masking_view

LINE = "To be, or not to be: that is the question."


@pytest.fixture(scope="module")
def tokenizer():
    from lmcore.tokenize import wordpiece_tokenizer
    return wordpiece_tokenizer()


class ScriptTokenizer:
    """A stand-in tokenizer whose tokens are whole words such as ``<img onerror=...>``."""

    def __init__(self):
        self.vocab = ["[PAD]", "[CLS]", "[SEP]", "[MASK]"]
        self.mask_token_id, self.special_token_ids = 3, frozenset({0, 1, 2, 3})

    @property
    def vocab_size(self):
        return len(self.vocab)

    def encode_pair(self, text):
        ids = [1]
        for word in text.split():
            if word not in self.vocab:
                self.vocab.append(word)
            ids.append(self.vocab.index(word))
        return {"input_ids": ids + [2]}

    def convert_ids_to_tokens(self, ids):
        return [self.vocab[i] for i in ids]


def _write(tmp_path, view, name):
    path = tmp_path / name
    path.write_text("<!doctype html><meta charset='utf-8'><body>" + view._repr_html_() + "</body>",
                    encoding="utf-8")
    return path


# ---- chapter 7: the loss landscape ------------------------------------------------------------

def test_verdicts_follow_the_two_over_lambda_max_edge():
    assert verdict(0.19).startswith("converges")
    assert verdict(0.20).startswith("neither")
    assert verdict(0.21).startswith("diverges")
    assert verdict(0.29, momentum=0.5).startswith("converges")     # edge 2(1 + mu)/lambda_max = 0.3
    assert verdict(0.30, momentum=0.5).startswith("neither")
    assert verdict(0.31, momentum=0.5).startswith("diverges")


def test_landscape_trajectory_is_heavy_ball_descent_on_the_views_quadratic():
    A = quadratic_problem()
    assert np.allclose(np.linalg.eigvalsh(A), [1.0, 10.0])
    path = landscape_trajectory(0.1, 0.5, steps=20)
    assert np.array_equal(path, momentum_descent(lambda x: A @ x, path[0], 0.1, 0.5, 20))


def test_live_landscape_widget_recomputes_on_every_slider_move():
    live = LandscapeWidget(lr=0.1, momentum=0.0, steps=25)
    first_picture = live.picture.value
    assert "<polyline" in first_picture and "converges" in live.caption.value
    live.lr_slider.value = 0.25                                   # observe -> update
    assert np.array_equal(live.path, landscape_trajectory(0.25, 0.0, steps=25))
    assert "diverges" in live.caption.value and live.picture.value != first_picture
    live.momentum_slider.value = 0.5
    assert np.array_equal(live.path, landscape_trajectory(0.25, 0.5, steps=25))
    assert "converges" in live.caption.value


def test_static_landscape_view_reacts_to_the_sliders_offline(tmp_path, open_page):
    path = _write(tmp_path, landscape_view(), "landscape.html")
    page = open_page(path)
    p = page.page
    assert p.locator(".lmcore-landscape svg polyline").count() == 1
    default_points = p.get_attribute(".lmcore-landscape polyline", "points")
    assert "converges" in p.text_content(".landscape-caption")
    p.eval_on_selector(".lr-slider", "(e) => { e.value = 19; e.dispatchEvent(new Event('input')); }")  # lr 0.20
    assert "neither converges nor diverges" in p.text_content(".landscape-caption")
    assert p.get_attribute(".lmcore-landscape polyline", "points") != default_points
    p.eval_on_selector(".lr-slider", "(e) => { e.value = 21; e.dispatchEvent(new Event('input')); }")  # lr 0.22
    assert "diverges" in p.text_content(".landscape-caption")
    p.eval_on_selector(".momentum-slider", "(e) => { e.value = 1; e.dispatchEvent(new Event('input')); }")
    assert "converges" in p.text_content(".landscape-caption")         # momentum 0.5 widens the range
    assert page.errors == []
    assert page.outside_requests() == [] and page.requests == [path.resolve().as_uri()]


# ---- chapter 8: masking -----------------------------------------------------------------------

def test_masking_sample_marks_what_happened_at_each_position(tokenizer):
    sample = masking_sample(tokenizer, LINE, seed=0)
    for original, shown, label, kind in zip(sample["input_ids"], sample["masked_ids"],
                                            sample["labels"], sample["kinds"]):
        if kind == "":
            assert label == IGNORE_INDEX and shown == original
        else:
            assert label == original
            assert (kind == "mask") == (shown == tokenizer.mask_token_id)
            assert (kind == "same") == (shown == original)
    n = len(sample["tokens"]) - 2
    assert sum(map(bool, sample["kinds"])) == round(0.15 * n)


def test_live_masking_widget_remasks_on_click_and_follows_typed_text(tokenizer):
    live = MaskingWidget(tokenizer, LINE)
    first = live.sample
    live.button.click()                                           # the button's callback
    assert live.seed == 1 and live.sample == masking_sample(tokenizer, LINE, 1)
    assert live.sample["labels"] != first["labels"] or live.sample["masked_ids"] != first["masked_ids"]
    live.text.value = "The lady doth protest too much."
    assert live.sample["tokens"] == ["[CLS]", *tokenizer.tokens("The lady doth protest too much."), "[SEP]"]
    assert "positions count in the loss" in live.caption.value


def test_live_masking_widget_escapes_tokens():
    live = MaskingWidget(ScriptTokenizer(), "<img src=x onerror=alert(1)> a b c d e f g h")
    assert "<img" not in live.chips.value and html.escape("<img") in live.chips.value


def test_static_masking_view_remasks_on_click_offline_and_shows_text_as_text(tmp_path, open_page, tokenizer):
    path = _write(tmp_path, masking_view(tokenizer, LINE, num_samples=5), "masking.html")
    page = open_page(path)
    p = page.page
    tokens = tokenizer.convert_ids_to_tokens(tokenizer.encode_pair(LINE)["input_ids"])
    assert p.locator(".lmcore-masking .lmmask-chip").count() == len(tokens)
    counted = p.locator(".lmcore-masking .lmmask-chip.lmmask-counted").count()
    assert counted == round(0.15 * (len(tokens) - 2))
    shown = [masking_sample(tokenizer, LINE, s)["shown"] for s in range(5)]
    top = lambda: p.eval_on_selector_all(".lmcore-masking .lmmask-chip", "(cs) => cs.map(c => c.firstChild.textContent)")  # noqa: E731
    assert top() == shown[0]
    p.click(".lmcore-masking button.remask")
    assert top() == shown[1] and "masking 2 of 5" in p.text_content(".lmcore-masking")
    assert p.locator(".lmcore-masking .lmmask-chip.lmmask-counted").count() == counted
    assert page.errors == [] and page.outside_requests() == []

    hostile = _write(tmp_path, masking_view(ScriptTokenizer(), "<img src=x onerror=window.__pwned=1> a b c d e f g",
                                            num_samples=20), "hostile.html")
    page2 = open_page(hostile)
    for _ in range(20):
        page2.page.click(".lmcore-masking button.remask")
    assert page2.page.locator(".lmcore-masking img").count() == 0
    assert page2.page.evaluate("() => window.__pwned") is None
    assert "<img" in page2.page.text_content(".lmcore-masking .lmmask-chips")
