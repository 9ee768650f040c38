"""The "why this label" view of chapter 10: escaping, determinism, the live callback."""

from __future__ import annotations

import re

import pytest

from lmcore.viz.attribution import attribution_view, attribution_widget, render_attribution

EVIL = "</script><script>alert(1)</script>"


def _attribution(tokens, target=2):
    return {"tokens": tokens, "scores": [0.5 - i for i in range(len(tokens))],
            "probabilities": [0.1, 0.2, 0.7], "labels": ["negative", "neutral", "positive"],
            "target": target}


def test_static_view_embeds_hostile_text_as_data_not_markup():
    html = attribution_view([(EVIL, _attribution(["[CLS]", EVIL, "[SEP]"]))])._repr_html_()
    assert "<script>alert(1)" not in html
    assert "\\u003c/script\\u003e" in html
    script = html.split("<script>", 1)[1]
    assert "innerHTML" not in script and "textContent" in script


def test_static_view_is_deterministic_and_depends_on_the_data():
    a = attribution_view([("good", _attribution(["good"]))])._repr_html_()
    b = attribution_view([("good", _attribution(["good"]))])._repr_html_()
    c = attribution_view([("bad", _attribution(["bad"], target=0))])._repr_html_()
    assert a == b
    assert a != c
    ids = set(re.findall(r'id="(lmcore-why-[0-9a-f]+)"', a))
    assert len(ids) == 1


def test_widget_html_escapes_tokens_and_marks_the_chosen_class():
    html = render_attribution(_attribution(["<b>", "x"], target=0))
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert html.count("why-chosen") == 2      # the CSS rule and the chosen row
    assert 'title="+0.500"' in html and 'title="-0.500"' in html


def test_live_widget_calls_back_with_the_typed_text():
    pytest.importorskip("ipywidgets")
    seen = []

    def explain(text):
        seen.append(text)
        return _attribution(["[CLS]", *text.split(), "[SEP]"])

    view = attribution_widget(explain, "fine day")
    box, out = view.children
    assert seen == ["fine day"] and "fine" in out.value
    box.value = "terrible <delay>"
    assert seen[-1] == "terrible <delay>"
    assert "&lt;delay&gt;" in out.value and "<delay>" not in out.value


def test_bad_examples_get_a_clear_error():
    with pytest.raises(TypeError, match="examples"):
        attribution_view("not a list")
    with pytest.raises(TypeError, match="attribution"):
        attribution_view([("x", {"tokens": []})])
    with pytest.raises(ValueError, match="one score per token"):
        attribution_view([("x", _attribution(["a", "b"]) | {"scores": [1.0]})])


@pytest.mark.browser
def test_view_runs_in_chromium_fits_a_phone_and_shows_hostile_text_as_text(tmp_path):
    import shutil
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed (make browser)")
    sync_api = pytest.importorskip("playwright.sync_api")
    long_text = "the flight was late again and the staff were extraordinarily rude " + EVIL
    tokens = ["[CLS]", *long_text.split(), "[SEP]"]
    page_file = tmp_path / "view.html"
    page_file.write_text("<html><body>" + attribution_view(
        [(long_text, _attribution(tokens)), ("ok", _attribution(["ok"], target=1))]
    )._repr_html_() + "</body></html>", encoding="utf-8")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            for width in (688, 390):
                page = browser.new_page(viewport={"width": width, "height": 600})
                errors = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(page_file.as_uri())
                assert errors == []
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                assert page.locator(".why-token").count() == len(tokens)
                assert EVIL in page.locator(".why-tokens").inner_text()
                page.select_option("select", "1")
                assert page.locator(".why-token").count() == 1
                assert page.locator(".why-chosen .why-class").inner_text() == "neutral"
        finally:
            browser.close()
