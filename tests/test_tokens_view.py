"""The tokenizer view of chapter 2, in a real browser and as a live widget.

The static view (the HTML the book shows) is opened from a file in headless Chromium with
every network request recorded: it must render every tokenizer's row, switch examples on a
click, recompute the bytes row for typed text, show a ``<script>`` token as text (never run
it), and ask the network for nothing. The live widget's callback is tested in Python.
"""

from __future__ import annotations

import html

import pytest

import lmcore.tokenize as T
from lmcore.viz.tokens import TokenView, describe_tokens

EXAMPLES = {"english": "Tokenizers cut text into pieces.",
            "chinese": "你好，世界",
            "emoji": "I ❤️ 😀!",
            "script": "</script><script>window.__pwned = 1</script>"}


class SpaceSplit(T.Tokenizer):
    """A tokenizer whose tokens are whole space-separated strings, such as "<script>..."."""

    def __init__(self):
        self.vocab: list[str] = []

    @property
    def vocab_size(self):
        return max(len(self.vocab), 1)

    def encode(self, text):
        for word in text.split(" "):
            if word not in self.vocab:
                self.vocab.append(word)
        return [self.vocab.index(word) for word in text.split(" ")]

    def decode(self, ids):
        return " ".join(self.vocab[i] for i in ids)

    def convert_ids_to_tokens(self, ids):
        return [self.vocab[i] for i in ids]


@pytest.fixture(scope="module")
def view():
    train = "the cat sat on the mat. the dog sat on the log. tokenizers cut text."
    return TokenView({"characters": T.CharTokenizer(train),
                      "BPE (trained)": T.train_bpe([train], 300),
                      "GPT-2": T.gpt2_tokenizer(),
                      "BERT WordPiece": T.wordpiece_tokenizer(),
                      "space split": SpaceSplit()})


def test_byte_level_pieces_of_chinese_and_emoji_are_shown_as_bytes():
    tokens = describe_tokens(T.gpt2_tokenizer(), "你好 😀")
    assert [t["kind"] for t in tokens].count("bytes") >= 3
    assert tokens[0] == {"text": "<e4 bd>", "id": 19526, "kind": "bytes"}
    # and WordPiece has no pieces for the emoji: a whole unknown word
    assert describe_tokens(T.wordpiece_tokenizer(), "😀")[0]["kind"] == "unk"


def test_rows_show_spaces_and_keep_ids(view):
    rows = view.rows("a b\n")
    assert [t["text"] for t in rows["GPT-2"]] == ["a", "␣b", "↵"]
    assert [t["id"] for t in rows["GPT-2"]] == T.gpt2_tokenizer().encode("a b\n")


def test_live_widget_recomputes_every_row_and_escapes_text(view):
    panel = view.widget("hello")
    controls = panel.controls
    assert "(1 tokens)" in controls["output"].value
    controls["text"].value = "<script>alert(1)</script> 你好"     # observe -> update
    shown = controls["output"].value
    assert "<script" not in shown and html.escape("<script>alert(1)</script>") in shown
    for name in view.tokenizers:
        n = len(view.tokenizers[name].encode(controls["text"].value))
        assert f"{html.escape(name)} <span class='lmtok-count' style='font-weight:400'>({n} tokens)</span>" in shown
    controls["show_ids"].value = True
    assert f">{T.gpt2_tokenizer().encode('<script>')[0]}</span>" in controls["output"].value


def test_bad_tokenizers_argument_is_named():
    with pytest.raises(TypeError, match="'tokenizers' argument of TokenView"):
        TokenView({"x": "not a tokenizer"})


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page(view, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api")
    import os
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Chromium is not installed (make browser)")
    path = tmp_path_factory.mktemp("view") / "tokens.html"
    # the book theme's rule that once stretched every token of a ".row" to the full width
    theme = "<style>.row>*{width:100%}</style>"
    path.write_text("<!doctype html><meta charset='utf-8'>" + theme + "<body>"
                    + view.static_view(EXAMPLES)._repr_html_() + "</body>", encoding="utf-8")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.requests, page.errors, page.dialogs = [], [], []
        page.on("request", lambda request: page.requests.append(request.url))
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(path.as_uri())
        page.file_url = path.as_uri()
        yield page
        browser.close()


def _rows(page) -> dict[str, list[str]]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.lmcore-tokens .lmtok-row')]
        .map(r => [r.dataset.tokenizer, [...r.querySelectorAll('.lmtok-tok')].map(s => s.textContent)]))""")


def test_static_view_renders_every_tokenizer_for_the_first_example(page, view):
    rows = _rows(page)
    assert list(rows) == list(view.tokenizers)
    expected = view.rows(EXAMPLES["english"])
    for name, tokens in expected.items():
        assert rows[name] == [t["text"] for t in tokens]
    assert page.get_attribute(".lmcore-tokens", "data-shown") == "example-0"


def test_tokens_sit_side_by_side_under_the_book_theme_and_on_a_phone(page):
    page.set_viewport_size({"width": 390, "height": 800})
    tokens = page.locator(".lmcore-tokens .lmtok-row").nth(1).locator(".lmtok-tok")
    first, second = tokens.nth(0).bounding_box(), tokens.nth(1).bounding_box()
    assert first["y"] == second["y"] and second["x"] > first["x"] + first["width"] - 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 800})


def test_static_view_switches_examples_on_click(page, view):
    page.click("button[data-example='1']")
    assert page.get_attribute(".lmcore-tokens", "data-shown") == "example-1"
    assert _rows(page)["GPT-2"] == [t["text"] for t in view.rows(EXAMPLES["chinese"])["GPT-2"]]
    page.click("button.lmtok-ids")
    assert _rows(page)["GPT-2"] == [str(i) for i in T.gpt2_tokenizer().encode(EXAMPLES["chinese"])]
    page.click("button.lmtok-ids")


def test_static_view_shows_the_bytes_of_any_typed_text(page):
    page.fill("textarea", "né 你")
    assert page.get_attribute(".lmcore-tokens", "data-shown") == "bytes"
    rows = _rows(page)
    assert rows == {"UTF-8 bytes": ["<" + f"{b:02x}" + ">" for b in "né 你".encode("utf-8")]}
    page.fill("textarea", EXAMPLES["emoji"])          # typing an example brings its rows back
    assert page.get_attribute(".lmcore-tokens", "data-shown") == "example-2"


def test_static_view_shows_a_script_token_as_text_and_never_runs_it(page, view):
    page.click("button[data-example='3']")
    assert "".join(_rows(page)["BPE (trained)"]).replace("␣", " ") == EXAMPLES["script"]
    texts = _rows(page)["space split"]
    assert texts == ["</script><script>window.__pwned", "=", "1</script>"]
    assert page.evaluate("() => window.__pwned") is None
    assert page.evaluate("() => document.querySelectorAll('.lmtok-rows script').length") == 0
    assert page.dialogs == [] and page.errors == []


def test_static_view_makes_no_network_request(page):
    assert [url for url in page.requests if url != page.file_url] == []
