"""The built HTML book, opened in a real browser (headless Chromium) from its folder.

Claims: every page of the table of contents loads with no request outside the book's folder and
no console error; formulas are rendered by the bundled MathJax; hidden answers stay hidden until
clicked; the chapter 3 neighbour explorer reacts to input.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

pytestmark = pytest.mark.browser


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [entry["file"] for entry in part.get("chapters", [])]
    return pages


@pytest.mark.parametrize("page", toc_pages())
def test_page_loads_offline_without_errors(page, built_book, open_page):
    html_file = built_book / f"{page}.html"
    assert html_file.exists(), f"{page} was not built"
    recorder = open_page(html_file, allowed_folder=built_book)
    recorder.page.wait_for_timeout(1000)  # let deferred scripts (MathJax, search) run
    assert recorder.outside_requests() == [], "requests outside the book's folder"
    assert recorder.errors == [], "errors in the browser console"


MATH_PAGES = [p for p in toc_pages() if p.startswith("chapters/") or p == "book/notation"]


@pytest.mark.parametrize("page", MATH_PAGES)
def test_math_is_rendered_by_the_bundled_mathjax(page, built_book, open_page):
    recorder = open_page(built_book / f"{page}.html", allowed_folder=built_book)
    recorder.page.wait_for_function(
        "() => document.querySelectorAll('mjx-container').length > 0", timeout=30_000)
    # no formula left as raw TeX, and no MathJax error box
    assert recorder.page.locator("mjx-merror").count() == 0
    assert any("mathjax" in url for url in recorder.requests)
    assert recorder.outside_requests() == []


def test_hidden_answers_open_on_click(built_book, open_page):
    recorder = open_page(built_book / "chapters/03_words_as_vectors.html", allowed_folder=built_book)
    answer = recorder.page.locator("details.answer").first
    assert answer.count() == 1
    assert answer.get_attribute("open") is None
    assert not answer.locator("p").first.is_visible()
    answer.locator("summary").click()
    assert answer.locator("p").first.is_visible()


def test_neighbour_explorer_reacts_to_input(built_book, open_page):
    recorder = open_page(built_book / "chapters/03_words_as_vectors.html", allowed_folder=built_book)
    page = recorder.page
    root = page.locator("div.lmcore-nn").first
    data = json.loads(page.locator("div.lmcore-nn + script[type='application/json']").first
                      .text_content())
    assert root.get_attribute("data-shown") == "king|2|ppmi"

    def shown_words():
        return root.locator(".lmnn-neighbours .lmnn-word").all_text_contents()

    assert shown_words() == [w for w, _ in data["neighbours"]["king"]["2"]["ppmi"]]
    root.locator("input[type=text]").fill("sword")
    assert root.get_attribute("data-shown") == "sword|2|ppmi"
    assert shown_words() == [w for w, _ in data["neighbours"]["sword"]["2"]["ppmi"]]
    root.locator("select").select_option("10")
    root.locator("button[data-weighting=counts]").click()
    assert root.locator("button[data-weighting=counts]").get_attribute("aria-pressed") == "true"
    assert root.get_attribute("data-shown") == "sword|10|counts"
    assert shown_words() == [w for w, _ in data["neighbours"]["sword"]["10"]["counts"]]
    root.locator("input[type=text]").fill("zzzz")
    assert "Not precomputed" in root.locator(".lmnn-note").text_content()
    assert recorder.errors == [] and recorder.outside_requests() == []


def test_the_request_check_catches_a_page_that_reaches_the_network(tmp_path, open_page):
    """The offline check above can fail: a page that loads a remote script is caught."""
    page_file = tmp_path / "bad.html"
    page_file.write_text('<html><body><img src="http://127.0.0.1:9/remote.png"></body></html>')
    recorder = open_page(page_file)
    recorder.page.wait_for_timeout(300)
    assert recorder.outside_requests() == ["http://127.0.0.1:9/remote.png"]
