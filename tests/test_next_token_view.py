"""The next-token view of chapter 11: live widget in Python, static view in a real browser.

The static view's JavaScript filters (temperature, top-k, top-p) must keep the same tokens
with the same renormalised probabilities as lmcore.generate.next_token_probabilities; the
browser test moves the sliders and reads the rows the page shows.
"""

from __future__ import annotations

import json

import pytest
import torch

from lmcore.generate import next_token_probabilities
from lmcore.tokenize import train_bpe
from lmcore.transformer import GPTConfig, GPTDecoder
from lmcore.viz.next_token import NextTokenView

EVIL = "</script><script>window.__pwned = 1</script>"


@pytest.fixture(scope="module")
def view():
    text = "the cat sat on the mat. the dog sat on the log. " * 20 + EVIL
    tokenizer = train_bpe([text], 300)
    torch.manual_seed(0)
    model = GPTDecoder(GPTConfig(vocab_size=tokenizer.vocab_size, max_positions=32,
                                 d_model=16, num_layers=1, num_heads=2, d_ff=32))
    with torch.no_grad():                                   # a spread-out distribution
        model.lm_head.weight.mul_(0.3)
    return NextTokenView(model, tokenizer, show=12)


def test_table_gives_the_filtered_renormalised_probabilities(view):
    logits = view.logits("the cat")
    rows = view.table("the cat", temperature=0.7, top_k=5, top_p=0.8)
    expected = next_token_probabilities(logits, 0.7, 5, 0.8)
    kept = [r for r in rows if r[2] > 0]
    assert 1 <= len(kept) <= 5
    assert sum(r[2] for r in kept) == pytest.approx(float(expected.sum()), abs=1e-5)
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)


def test_live_widget_recomputes_when_a_slider_moves(view):
    panel = view.widget("the cat")
    output = panel.controls["output"]
    panel.controls["top_k"].value = 300
    panel.controls["top_p"].value = 1.0
    everything = output.value
    panel.controls["top_k"].value = 1
    assert output.value != everything and "1 tokens survive" in output.value
    panel.controls["prompt"].value = ""
    assert "&#x27;prompt&#x27; argument" in output.value


def test_bad_arguments_are_named(view):
    with pytest.raises(TypeError, match="'model' argument of NextTokenView"):
        NextTokenView(torch.nn.Linear(2, 2), view.tokenizer)
    with pytest.raises(ValueError, match="'top_p' argument of NextTokenView.data"):
        view.data(["the"], top_p=0.0)


@pytest.fixture(scope="module")
def page(view, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    import os
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Chromium is not installed (make browser)")
    from tests.conftest import CHROMIUM_ARGS
    path = tmp_path_factory.mktemp("view") / "next_token.html"
    html = view.static_view(["the cat", EVIL], top_k=20, top_p=0.9)._repr_html_()
    path.write_text("<!doctype html><meta charset='utf-8'><body>" + html + "</body>",
                    encoding="utf-8")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.requests, page.errors = [], []
        page.on("request", lambda request: page.requests.append(request.url))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(path.as_uri())
        page.file_url = path.as_uri()
        yield page
        browser.close()


def _set(page, label, value):
    page.eval_on_selector(f"input[aria-label='{label}']",
                          "(e, v) => {e.value = v; e.dispatchEvent(new Event('input'));}",
                          str(value))


def _shown(page):
    return page.evaluate("""() => [...document.querySelectorAll('.lmcore-nt .lmnt-row')].map(r =>
        [r.querySelector('.lmnt-tok').textContent, r.querySelector('.lmnt-num').textContent])""")


@pytest.mark.parametrize("temperature,top_k,top_p", [(1.0, 20, 0.9), (0.5, 3, 1.0),
                                                     (1.5, 300, 0.5), (0.8, 300, 0.05)])
def test_static_view_keeps_the_tokens_and_probabilities_of_python(page, view, temperature,
                                                                  top_k, top_p):
    _set(page, "temperature", temperature)
    _set(page, "top-k", top_k)
    _set(page, "top-p", top_p)
    rows = view.table("the cat", temperature, top_k, top_p)
    after = next_token_probabilities(view.logits("the cat"), temperature, top_k, top_p)
    shown = page.get_attribute(".lmcore-nt", "data-shown").split("|")
    assert int(shown[-1]) == int((after > 0).sum())                 # how many survive
    for (text, before, p_after), (tok, numbers) in zip(rows, _shown(page)):
        assert tok == json.dumps(text, ensure_ascii=False)
        assert numbers == f"{before:.3f} \u2192 {p_after:.3f}"
    assert page.requests == [page.file_url] and page.errors == []


def test_static_view_shows_a_script_prompt_as_text_and_never_runs_it(page):
    page.select_option("select[aria-label='prompt']", "1")
    assert page.text_content(".lmcore-nt .lmnt-prompt") == EVIL
    assert page.evaluate("() => window.__pwned") is None
