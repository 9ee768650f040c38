"""The attention-map explorer (lmcore.viz.attention): its checks, its HTML in a real browser, and
the live widget's callback.

The browser tests open the views in headless Chromium (Playwright, Debian's /usr/bin/chromium)
from a file with every network request recorded: the views must work with no network at all.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lmcore.viz.attention import AttentionExplorer, attention_array, head_view, model_view

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
EVIL = "</script><script>window.__pwned = 1</script>"


def random_attention(layers: int, heads: int, n: int, seed: int = 0, causal: bool = False):
    generator = torch.Generator().manual_seed(seed)
    scores = torch.randn(layers, heads, n, n, generator=generator) * 3
    if causal:
        scores = scores.masked_fill(~torch.ones(n, n, dtype=torch.bool).tril(), float("-inf"))
    return torch.softmax(scores, dim=-1)


# --------------------------------------------------------------------------------------------
# Input checks (no browser)
# --------------------------------------------------------------------------------------------

def test_tokens_that_do_not_match_the_attention_are_a_clear_error():
    attention = random_attention(2, 3, 5)
    with pytest.raises(ValueError, match=r"has 4 tokens, but the attention is over n = 5"):
        head_view(attention, ["a", "b", "c", "d"])
    with pytest.raises(TypeError, match=r"'tokens' argument of model_view must be a list"):
        model_view(attention, "abcde")
    with pytest.raises(TypeError, match=r"tokens\[2\] is 3"):
        head_view(attention, ["a", "b", 3, "d", "e"])


@pytest.mark.parametrize("bad, message", [
    (torch.rand(2, 3, 5), r"Got shape \[2, 3, 5\]"),
    (torch.rand(2, 4, 3, 5, 5), r"a batch of 4 examples"),
    (torch.rand(2, 3, 5, 4), r"square"),
    ([torch.rand(3, 5, 5), torch.rand(2, 5, 5)], r"same shape in every layer"),
    ([torch.rand(2, 3, 5, 5)], r"a batch of 2"),
    (torch.full((1, 1, 5, 5), 2.0), r"probabilities in \[0, 1\].*before the softmax"),
    (torch.full((1, 1, 5, 5), float("nan")), r"NaN"),
    ([], r"must be attention of shape"),
])
def test_attention_of_the_wrong_shape_is_a_clear_error(bad, message):
    with pytest.raises(ValueError, match=message):
        head_view(bad, list("abcde"))


def test_every_accepted_layout_gives_the_same_data():
    stacked = random_attention(2, 3, 4)                         # [layers, heads, n, n]
    per_layer = [layer for layer in stacked]                    # list of [heads, n, n]
    per_layer_batched = tuple(layer[None] for layer in stacked)  # HF: tuple of [1, heads, n, n]
    batched = stacked[:, None]                                  # [layers, 1, heads, n, n]
    reference = attention_array(stacked)
    for other in (per_layer, per_layer_batched, batched, stacked.numpy()):
        np.testing.assert_array_equal(attention_array(other), reference)
    tokens = list("wxyz")
    weights = {model_view(a, tokens).data["weights"] for a in (stacked, per_layer_batched)}
    assert len(weights) == 1


def test_weights_are_embedded_one_byte_each_and_decode_to_the_input():
    attention = random_attention(2, 3, 6)
    view = head_view(attention, list("abcdef"))
    decoded = np.frombuffer(base64.b64decode(view.data["weights"]), dtype=np.uint8)
    np.testing.assert_allclose(decoded.reshape(2, 3, 6, 6) / 255, attention.numpy(), atol=0.5 / 255 + 1e-7)


def test_token_text_is_escaped_in_the_html():
    view = head_view(random_attention(1, 2, 3), ["<b>bold</b>", EVIL, "&amp;"])
    assert EVIL not in view.html and "<b>bold</b>" not in view.html
    assert "innerHTML" not in view.html  # the script inserts text with textContent only


def test_causal_attention_is_detected_and_a_false_claim_is_an_error():
    tokens = list("abcd")
    assert head_view(random_attention(1, 2, 4, causal=True), tokens).data["causal"] is True
    assert head_view(random_attention(1, 2, 4), tokens).data["causal"] is False
    with pytest.raises(ValueError, match="'causal' argument of head_view is True"):
        head_view(random_attention(1, 2, 4), tokens, causal=True)


def test_bad_layer_heads_and_sentence_b_start_are_clear_errors():
    attention, tokens = random_attention(2, 3, 4), list("abcd")
    with pytest.raises(ValueError, match=r"'layer' argument of head_view must be a layer index in 0..1"):
        head_view(attention, tokens, layer=2)
    with pytest.raises(ValueError, match=r"'heads' argument of head_view"):
        head_view(attention, tokens, heads=[0, 3])
    with pytest.raises(ValueError, match=r"'sentence_b_start' argument of model_view"):
        model_view(attention, tokens, sentence_b_start=4)


def test_two_views_of_the_same_data_get_different_ids():
    attention, tokens = random_attention(1, 1, 2), ["a", "b"]
    first, second = head_view(attention, tokens), head_view(attention, tokens)
    ids = [view.html.split('id="', 1)[1].split('"', 1)[0] for view in (first, second)]
    assert ids[0] != ids[1]


# --------------------------------------------------------------------------------------------
# The live widget (its callback, called from Python)
# --------------------------------------------------------------------------------------------

def test_live_explorer_recomputes_when_the_text_changes():
    calls = []

    def model_fn(text):
        calls.append(text)
        tokens = text.split()
        return random_attention(2, 3, len(tokens), seed=len(calls)), tokens

    explorer = AttentionExplorer(model_fn, "one two three")
    assert calls == ["one two three"] and explorer.view.data["tokens"] == ["one", "two", "three"]
    explorer.text.value = "a <script> sentence of six words"     # what typing does
    assert calls[-1] == "a <script> sentence of six words"
    assert explorer.view.data["tokens"] == ["a", "<script>", "sentence", "of", "six", "words"]
    shown = explorer.output.outputs[-1]["data"]["text/html"]
    assert shown == explorer.html and "<script> sentence" not in shown
    # layer, head and view pickers re-draw without recomputing the model
    explorer.layer.value = 1
    assert explorer.view.data["layer"] == 1 and len(calls) == 2
    explorer.head.value = 2
    assert explorer.view.data["selected_heads"] == [2]
    explorer.view_picker.value = "model"
    assert explorer.view.data["kind"] == "model" and len(calls) == 2


def test_live_explorer_shows_a_model_error_instead_of_crashing():
    def model_fn(text):
        if not text:
            raise ValueError("type a sentence")
        return random_attention(1, 1, 1), [text]

    explorer = AttentionExplorer(model_fn, "hello")
    assert len(explorer.output.outputs) == 1
    explorer.text.value = ""
    assert "type a sentence" in explorer.message.value
    # no picture of the earlier sentence stays under the error
    assert explorer.view is None and explorer.output.outputs == ()
    explorer.text.value = "again"                      # a valid sentence draws again
    assert explorer.view.data["tokens"] == ["again"] and len(explorer.output.outputs) == 1


def test_live_explorer_view_has_no_controls_of_its_own():
    """One state: the explorer's layer and head pick what its (locked) view shows."""
    explorer = AttentionExplorer(lambda text: (random_attention(3, 2, 2), text.split()),
                                 "a b")
    explorer.layer.value = 2
    explorer.head.value = 1
    assert explorer.view.data["locked"] and explorer.view.data["layer"] == 2
    assert explorer.view.data["selected_heads"] == [1]
    assert head_view(random_attention(3, 2, 2), ["a", "b"]).data["locked"] is False


def test_live_explorer_runs_the_real_model():
    explorer = AttentionExplorer(text="The cat sat.")
    tokens = explorer.view.data["tokens"]
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and "cat" in tokens
    explorer.text.value = "Dogs bark loudly."
    assert "bark" in explorer.view.data["tokens"] and (explorer.view.data["layers"],
                                                        explorer.view.data["heads"]) == (6, 12)
    pairs = AttentionExplorer(text="Where is it?", pairs=True, text_b="Over there.")
    b_start = pairs.view.data["sentence_b_start"]
    assert pairs.view.data["tokens"][b_start - 1] == "[SEP]" and pairs.view.data["tokens"][b_start] == "over"


# --------------------------------------------------------------------------------------------
# In a real browser
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Chromium is not installed (make browser installs it)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def open_page(browser, tmp_path):
    """Open an HTML page from a file; yields (page, requests, errors)."""
    pages = []

    def opener(*views):
        path = tmp_path / "page.html"
        path.write_text("<!doctype html><html><head><meta charset='utf-8'></head><body>"
                        + "".join(view.html for view in views) + "</body></html>", "utf-8")
        page = browser.new_page()
        requests, errors = [], []
        page.on("request", lambda request: requests.append(request.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri())
        page.wait_for_selector(".lmcore-attention[data-ready='1']", state="attached")
        pages.append(page)
        return page, requests, errors, path.as_uri()

    yield opener
    for page in pages:
        page.close()


def canvas_pixels(locator) -> str:
    return locator.evaluate("canvas => canvas.toDataURL()")


@pytest.mark.browser
def test_head_view_renders_reacts_to_hover_and_click_and_shows_tokens_as_text(open_page):
    tokens = ["[CLS]", EVIL, "<b>x</b>", "cat", "[SEP]"]
    page, requests, errors, url = open_page(head_view(random_attention(2, 3, 5), tokens))
    view = page.locator(".lmcore-attention")
    left = view.locator(".lmav-left .lmav-tok")
    assert left.all_text_contents() == tokens                     # shown as text, not run
    assert page.evaluate("window.__pwned") is None
    assert view.locator("b").count() == 0
    lines = view.locator("canvas.lmav-lines")
    before = canvas_pixels(lines)
    left.nth(3).hover()                                           # where does "cat" attend?
    assert view.get_attribute("data-focus") == "left:3"
    assert view.locator(".lmav-readout").text_content().startswith("\u201ccat\u201d (3) attends most to:")
    assert canvas_pixels(lines) != before                         # only cat's lines now
    view.locator(".lmav-right .lmav-tok").nth(0).click()          # what attends to [CLS]? pin it
    page.mouse.move(0, 0)
    assert view.get_attribute("data-focus") == "right:0"          # pinned: stays after leaving
    assert view.locator(".lmav-readout").text_content().startswith("Attending most to \u201c[CLS]\u201d (0):")
    view.locator(".lmav-right .lmav-tok").nth(0).click()          # click again: unpinned
    page.mouse.move(0, 0)
    assert view.get_attribute("data-focus") == ""
    all_heads = canvas_pixels(lines)
    view.locator(".lmav-chip[data-head='1']").click()             # switch head 1 off
    assert canvas_pixels(lines) != all_heads
    assert "lmav-off" in view.locator(".lmav-chip[data-head='1']").get_attribute("class")
    layer_0 = canvas_pixels(lines)
    view.locator("select.lmav-layer").select_option("1")
    assert canvas_pixels(lines) != layer_0
    assert errors == []
    assert requests == [url]                                      # nothing but the page itself


@pytest.mark.browser
def test_model_view_enlarges_a_clicked_thumbnail(open_page):
    attention = random_attention(3, 4, 6)
    page, requests, errors, url = open_page(model_view(attention, list("abcdef")))
    view = page.locator(".lmcore-attention")
    thumbs = view.locator("canvas.lmav-thumb")
    assert thumbs.count() == 3 * 4
    assert view.locator(".lmav-detail").is_hidden()
    view.locator("canvas.lmav-thumb[data-layer='2'][data-head='1']").click()
    assert view.get_attribute("data-open") == "2:1"
    assert view.locator(".lmav-detail .lmav-title").text_content() == "layer 2, head 1"
    detail = view.locator(".lmav-detail")
    detail.locator(".lmav-left .lmav-tok").nth(4).hover()
    readout = detail.locator(".lmav-readout").text_content()
    # the read-out names the strongest link of that very head, computed here independently
    strongest = int(attention[2, 1, 4].argmax())
    assert readout.startswith("\u201ce\u201d (4) attends most to: " + "abcdef"[strongest])
    view.locator("canvas.lmav-thumb[data-layer='2'][data-head='1']").click()   # click again
    assert view.locator(".lmav-detail").is_hidden() and view.get_attribute("data-open") == ""
    assert errors == [] and requests == [url]


@pytest.mark.browser
def test_two_views_on_one_page_do_not_interfere(open_page):
    first = head_view(random_attention(2, 2, 4, seed=1), list("abcd"))
    second = head_view(random_attention(2, 2, 4, seed=1), list("abcd"))   # identical data
    third = model_view(random_attention(2, 2, 4, seed=2), list("wxyz"))
    page, requests, errors, url = open_page(first, second, third)
    views = page.locator(".lmcore-attention")
    assert views.count() == 3
    lines = [canvas_pixels(views.nth(i).locator("canvas.lmav-lines")) for i in (0, 1)]
    assert lines[0] == lines[1]
    views.nth(1).locator(".lmav-left .lmav-tok").nth(2).click()
    views.nth(1).locator("select.lmav-layer").select_option("1")
    assert views.nth(1).get_attribute("data-focus") == "left:2"
    assert views.nth(0).get_attribute("data-focus") == ""
    assert canvas_pixels(views.nth(0).locator("canvas.lmav-lines")) == lines[0]
    assert views.nth(0).locator("select.lmav-layer").input_value() == "0"
    views.nth(2).locator("canvas.lmav-thumb").nth(0).click()
    assert views.nth(2).get_attribute("data-open") == "0:0"
    assert views.nth(1).get_attribute("data-focus") == "left:2"
    assert errors == [] and requests == [url]


@pytest.mark.browser
def test_128_tokens_render_in_both_views(open_page):
    n = 128
    tokens = [f"t{i}" for i in range(n)]
    attention = random_attention(6, 12, n)
    page, requests, errors, url = open_page(head_view(attention, tokens),
                                            model_view(attention, tokens))
    views = page.locator(".lmcore-attention")
    assert views.nth(0).locator(".lmav-tok").count() == 2 * n
    assert views.nth(1).locator("canvas.lmav-thumb").count() == 6 * 12
    views.nth(0).locator(".lmav-left .lmav-tok").nth(100).hover()
    assert views.nth(0).get_attribute("data-focus") == "left:100"
    views.nth(1).locator("canvas.lmav-thumb").nth(71).click()
    assert views.nth(1).get_attribute("data-open") == "5:11"
    assert views.nth(1).locator(".lmav-detail .lmav-tok").count() == 2 * n
    assert errors == [] and requests == [url]


@pytest.mark.browser
def test_sentence_pairs_filter_and_causal_label(open_page):
    tokens = ["[CLS]", "a1", "a2", "[SEP]", "b1", "b2", "[SEP]"]
    pair = head_view(random_attention(1, 2, 7), tokens, sentence_b_start=4)
    causal = head_view(random_attention(1, 2, 5, causal=True), list("abcde"))
    page, requests, errors, url = open_page(pair, causal)
    view = page.locator(".lmcore-attention").nth(0)
    assert view.locator(".lmav-right .lmav-tok.lmav-b").all_text_contents() == ["b1", "b2", "[SEP]"]
    view.locator("select.lmav-pairs").select_option("AB")        # sentence A -> sentence B only
    view.locator(".lmav-left .lmav-tok").nth(1).hover()
    readout = view.locator(".lmav-readout").text_content()
    top = readout.split("attends most to: ")[1].split(", ")[:3]
    assert len(top) == 3 and all(                               # only B's tokens are ranked
        item.split(" ")[0] in {"b1", "b2", "[SEP]"} and item.split(" ")[1] in {"(4)", "(5)", "(6)"}
        for item in top)
    note = page.locator(".lmcore-attention").nth(1).locator(".lmav-note").all_text_contents()
    assert any(text.startswith("causal") for text in note)
    assert errors == [] and requests == [url]


@pytest.mark.browser
def test_views_fit_a_column_and_a_phone_and_stay_readable_in_dark_mode(open_page):
    """At 688 px (the book's column) and 390 px (a phone) no view is wider than the page;
    the model view's grid scales down with its labels; in the book's dark mode the head
    view's buttons and selector keep their text visibly different from their background."""
    tokens = ["[CLS]"] + [f"word{i}" for i in range(18)] + ["[SEP]"]
    attention = random_attention(6, 12, len(tokens))
    head = head_view(attention, tokens, title="a head view")
    model = model_view(attention, tokens, title="every layer and head")
    page, requests, errors, url = open_page(head, model)
    for width in (688, 390):
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(100)
        overflow = page.evaluate("""() => [...document.querySelectorAll('.lmcore-attention')]
            .map(v => v.getBoundingClientRect().right - document.documentElement.clientWidth)""")
        assert max(overflow) <= 1, (width, overflow)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        grid = page.locator(".lmav-grid")
        assert grid.evaluate("g => g.scrollWidth <= g.clientWidth + 1")
        last = page.locator("canvas.lmav-thumb[data-layer='5'][data-head='11']")
        label = page.locator(".lmav-rowlabel").nth(5)
        assert last.bounding_box()["x"] + last.bounding_box()["width"] <= width
        assert abs(label.bounding_box()["y"] - last.bounding_box()["y"]) < last.bounding_box()[
            "height"]                                   # the layer label stays with its row
    page.evaluate("() => { document.documentElement.setAttribute('data-theme', 'dark');"
                  " document.body.style.background = '#121212';"
                  " document.body.style.color = '#fff'; }")
    for selector in (".lmav-btn", "select.lmav-layer"):
        colours = page.locator(selector).first.evaluate(
            "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
        assert colours[0] != colours[1], (selector, colours)
        assert colours[0] != "rgb(255, 255, 255)" or "255, 255, 255" not in colours[1]
    assert errors == [] and requests == [url]


@pytest.mark.browser
def test_head_view_heading_follows_the_selection(open_page):
    tokens = ["[CLS]", "a", "b", "[SEP]"]
    view = head_view(random_attention(3, 4, 4), tokens, layer=0, heads=[2],
                     title="layer 0, head 2: a named head")
    page, requests, errors, url = open_page(view)
    root = page.locator(".lmcore-attention")
    title = root.locator(".lmav-title").first
    assert title.text_content() == "layer 0, head 2: a named head"
    root.locator("select.lmav-layer").select_option("2")
    assert title.text_content() == "layer 2, head 2"
    root.locator(".lmav-chip[data-head='3']").click()
    assert title.text_content() == "layer 2, heads 2, 3"
    root.locator(".lmav-btn", has_text="all").click()
    assert title.text_content() == "layer 2, all heads"
    root.locator(".lmav-btn", has_text="none").click()
    assert title.text_content() == "layer 2, no head"
    assert errors == [] and requests == [url]
