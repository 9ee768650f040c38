"""Self-contained views: text is escaped, ids are stable, and the explorer works live and static."""

from __future__ import annotations

import json

import pytest

from lmcore.viz._html import element_id, embed_json, standalone_view
from lmcore.viz.neighbours import NeighbourExplorer

EVIL = "</script><script>window.pwned=1</script><b>bold</b>"


def test_embedded_json_cannot_close_its_script_tag_and_round_trips():
    text = embed_json({"word": EVIL, "amp": "a&b", "line": "\u2028"})
    assert "</script>" not in text and "<" not in text and "&" not in text
    assert json.loads(text) == {"word": EVIL, "amp": "a&b", "line": "\u2028"}


def test_element_ids_depend_only_on_the_data():
    assert element_id("v", {"a": 1}) == element_id("v", {"a": 1})
    assert element_id("v", {"a": 1}) != element_id("v", {"a": 2})


@pytest.fixture(scope="module")
def explorer():
    text = ("the king and the queen rode to the castle . the prince and the princess rode to "
            "the tower . a sword and a dagger lay by the gate . the king drew his sword . ") * 5
    return NeighbourExplorer(text.split(), vocab_size=50, windows=(1, 2), k=3)


def test_explorer_neighbours_equal_nearest_neighbors(explorer):
    from lmcore import nearest_neighbors
    for weighting in ("counts", "ppmi"):
        matrix, vocab = explorer.matrix(2, weighting)
        for word in ["king", "sword", "the"]:
            fast = explorer.neighbours(word, 2, weighting)
            reference = nearest_neighbors(word, matrix, vocab, k=3)
            assert [w for w, _ in fast] == [w for w, _ in reference]
            assert [s for _, s in fast] == pytest.approx([s for _, s in reference], abs=1e-12)


def test_live_widget_recomputes_when_the_controls_change(explorer):
    panel = explorer.widget("king")
    output = panel.controls["output"]
    first = output.value
    assert explorer.neighbours("king", 2, "ppmi")[0][0] in first
    panel.controls["word"].value = "sword"
    assert output.value != first
    assert explorer.neighbours("sword", 2, "ppmi")[0][0] in output.value
    panel.controls["weighting"].value = "counts"
    assert explorer.render_text("sword", 2, "counts") in output.value.replace("&#x27;", "'")
    panel.controls["word"].value = "kingg"
    assert "not in the vocabulary" in output.value and "king" in output.value


def test_explorer_arguments_are_checked(explorer):
    with pytest.raises(ValueError, match="'weighting'"):
        explorer.matrix(2, "tfidf")
    with pytest.raises(ValueError, match="'windows'"):
        NeighbourExplorer(["a", "b"], windows=(0,))
    with pytest.raises(TypeError, match="'tokens'"):
        NeighbourExplorer("a b c")
    with pytest.raises(ValueError, match="'default_window'"):
        explorer.data(["king"], default_window=5)


@pytest.mark.browser
def test_static_view_shows_hostile_text_without_running_it(explorer, tmp_path, open_page):
    data = explorer.data(["king"])
    data["words"].append(EVIL)
    data["neighbours"][EVIL] = {"1": {"counts": [[EVIL, 0.5]], "ppmi": [[EVIL, 0.5]]},
                                "2": {"counts": [[EVIL, 0.5]], "ppmi": [[EVIL, 0.5]]}}
    from lmcore.viz import neighbours
    html = standalone_view("lmcore-nn", data, neighbours._SCRIPT, neighbours._CSS)
    page_file = tmp_path / "view.html"
    page_file.write_text(f"<html><body>{html}{html}</body></html>")  # two views on one page
    recorder = open_page(page_file)
    page = recorder.page
    views = page.locator("div.lmcore-nn")
    assert views.count() == 2
    views.nth(0).locator("input[type=text]").fill(EVIL)
    assert views.nth(0).locator(".lmnn-word").first.text_content() == EVIL
    assert page.evaluate("window.pwned") is None
    assert page.locator("b").count() == 0
    assert views.nth(1).get_attribute("data-shown") == "king|2|ppmi"  # the other view unchanged
    assert recorder.errors == [] and recorder.outside_requests() == []


@pytest.mark.browser
def test_explorer_shows_its_values_on_a_phone_and_its_weighting_reads_right(
        explorer, tmp_path, open_page):
    page_file = tmp_path / "view.html"
    page_file.write_text("<html><body style='margin:8px'>"
                         f"{explorer.static_view(['king', 'sword']).html}</body></html>")
    recorder = open_page(page_file)
    page = recorder.page
    for width in (688, 390):
        page.set_viewport_size({"width": width, "height": 700})
        values = page.locator(".lmnn-value")
        assert values.count() == 3
        for index in range(values.count()):
            box = values.nth(index).bounding_box()
            assert box["width"] > 0 and box["x"] + box["width"] <= width
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the pressed weighting is the one shown, in light and dark mode
    pressed = page.locator(".lmnn-choice[aria-pressed=true]")
    assert pressed.count() == 1 and pressed.text_content() == "ppmi"
    page.evaluate("document.documentElement.setAttribute('data-theme', 'dark')")
    on = pressed.evaluate("e => getComputedStyle(e).backgroundColor")
    off = page.locator(".lmnn-choice[aria-pressed=false]").evaluate(
        "e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]")
    assert on == "rgb(79, 129, 189)" and off[0] != on and off[0] != off[1]
    assert recorder.errors == [] and recorder.outside_requests() == []
