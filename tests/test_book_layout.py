"""The built book as a reader sees it, at desktop (1280 px) and phone (390 px) width.

Claims, each measured in the built HTML or in headless Chromium:

* On every page, at both widths, no display equation, inline formula, table, block of code
  or output, inline literal or image is wider than the text column or cut off inside its box;
  what is wider than the column scrolls inside its own box. An equation number stays inside
  the equation's box. The page itself never scrolls sideways.
* The phone navigation opens and closes (site navigation and "on this page"); on a desktop
  the menu button collapses and restores the sidebar; a tooltip is not left on screen after a
  tap.
* In dark mode the text of every control (links, buttons, summaries, form fields, navigation)
  has a contrast ratio of at least 4.5 against its background (3 for large text and icons).
* Equations are numbered per chapter, "(7.1)", in the equation and in every reference to it.
* Coding solutions are folded behind "Solution" (and open on click); a build with
  ``LMCORE_BOOK_SOLUTIONS=omit`` has none. Figures with myst-nb metadata are numbered per
  chapter with their caption and alt text; no image has its file path as alt text.

Screenshots of every page at both widths (whole pages in light mode, the top of each page in
dark mode) are written to ``_build/screenshots/`` (printed by the tests; run with ``-s``).
The elements of the interactive views (``lmcore-*``) are measured by one separate test per
width; they do not fail the checks of the book's own elements.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import ROOT
from test_book import toc_pages

WIDTHS = {"desktop": 1280, "phone": 390}
SCREENSHOTS = ROOT / "_build" / "screenshots"
LAYOUT_JS = (Path(__file__).with_name("book_layout.js")).read_text()
CONTRAST_JS = (Path(__file__).with_name("book_contrast.js")).read_text()
CHAPTER = re.compile(r"^chapters/(\d+)_")
FIXTURE = Path(__file__).parent / "fixtures" / "book_fixture" / "03_fixture.ipynb"
MATH_DONE = """() => [...document.querySelectorAll('div.math, span.math')]
                   .every(el => el.querySelector('mjx-container'))"""


def _slug(page: str) -> str:
    return page.replace("/", "__")


def _open(page, html_file: Path, width: int, dark: bool = False):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(html_file.resolve().as_uri(), wait_until="load")
    if dark:  # what the theme's switch does, with the colour transitions turned off
        page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
        page.evaluate("""() => { document.documentElement.dataset.theme = 'dark';
                                 document.documentElement.dataset.mode = 'dark'; }""")
    page.wait_for_function(MATH_DONE, timeout=30_000)
    page.wait_for_timeout(200)


@pytest.fixture(scope="module")
def layout(built_book, browser):
    """Every page measured at both widths in one reused tab; screenshots written on the way."""
    tab = browser.new_page()
    results = {}
    for name, width in WIDTHS.items():
        (SCREENSHOTS / name).mkdir(parents=True, exist_ok=True)
        for page in toc_pages():
            _open(tab, built_book / f"{page}.html", width)
            results[name, page] = tab.evaluate(LAYOUT_JS)
            tab.screenshot(path=str(SCREENSHOTS / name / f"{_slug(page)}.jpeg"),
                           full_page=True, type="jpeg", quality=60)
    tab.close()
    print(f"\nscreenshots of every page at {sorted(WIDTHS.values())} px: {SCREENSHOTS}")
    return results


PAGE_WIDTHS = [(name, page) for name in WIDTHS for page in toc_pages()]


@pytest.mark.browser
@pytest.mark.parametrize("width,page", PAGE_WIDTHS)
def test_nothing_is_cut_off_or_wider_than_the_column(width, page, layout):
    measured = layout[width, page]
    own = [p for p in measured["problems"] if not p["view"]]
    assert own == [], f"{page} at {WIDTHS[width]} px:\n" + "\n".join(map(json.dumps, own))


@pytest.mark.browser
@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_views_fit_the_column(width, layout):
    views = [f"{page}: {json.dumps(p)}" for (name, page), measured in layout.items()
             if name == width for p in measured["problems"] if p["view"]]
    assert views == [], f"at {WIDTHS[width]} px:\n" + "\n".join(views)


@pytest.mark.browser
@pytest.mark.parametrize("width,page", PAGE_WIDTHS)
def test_the_page_never_scrolls_sideways(width, page, layout):
    measured = layout[width, page]
    assert measured["pageOverflow"] <= 0, (
        f"{page} at {WIDTHS[width]} px scrolls sideways by {measured['pageOverflow']} px, "
        "because of:\n" + "\n".join(map(json.dumps, measured["pageCulprits"])))


@pytest.mark.browser
def test_screenshots_of_every_page_at_both_widths(layout):
    for name in WIDTHS:
        for page in toc_pages():
            shot = SCREENSHOTS / name / f"{_slug(page)}.jpeg"
            assert shot.stat().st_size > 10_000, f"{shot} is missing or blank"
    print(f"screenshots: {SCREENSHOTS}")


@pytest.mark.browser
def test_the_layout_check_catches_overflow(tmp_path, browser):
    """The measurement can fail: a formula box that clips, a wide table that does not scroll,
    a long unbreakable word: all three are reported, and the page scrolls sideways."""
    page_file = tmp_path / "bad.html"
    page_file.write_text(
        '<html><body style="margin:0"><div class="bd-article" style="width:300px">'
        '<div class="math" style="overflow:hidden;width:300px"><span style="display:inline-block;'
        'width:600px">x</span></div>'
        '<table style="width:500px"><tr><td>wide</td></tr></table>'
        '<p style="white-space:nowrap">' + "a" * 400 + "</p></div></body></html>")
    tab = browser.new_page()
    tab.set_viewport_size({"width": 390, "height": 600})
    tab.goto(page_file.as_uri())
    measured = tab.evaluate(LAYOUT_JS)
    tab.close()
    kinds = {(p["kind"], p["problem"]) for p in measured["problems"]}
    assert ("display math", "content cut off") in kinds
    assert ("table", "wider than the column") in kinds
    assert measured["pageOverflow"] > 0 and measured["pageCulprits"]


@pytest.mark.browser
def test_79_characters_of_code_fit_the_column_at_desktop_width(built_book, browser):
    tab = browser.new_page()
    _open(tab, built_book / "chapters/04_attention.html", WIDTHS["desktop"])
    room, needed = tab.evaluate("""() => {
        const pre = document.querySelector('.cell_input div.highlight pre');
        const style = getComputedStyle(pre);
        const line = document.createElement('span');
        line.textContent = 'x'.repeat(79);
        pre.appendChild(line);
        const needed = line.getBoundingClientRect().width;
        line.remove();
        const room = pre.clientWidth - parseFloat(style.paddingLeft)
                     - parseFloat(style.paddingRight);
        return [room, needed]; }""")
    tab.close()
    assert needed <= room, f"79 characters need {needed:.0f} px, the code box has {room:.0f}"


# ------------------------------------------------------------------------ navigation
def _visible_toggle(tab, kind: str):
    return tab.locator(f".bd-header-article .{kind}-toggle").first


@pytest.mark.browser
@pytest.mark.parametrize("kind,dialog", [("primary", "#pst-primary-sidebar-modal"),
                                         ("secondary", "#pst-secondary-sidebar-modal")])
def test_phone_navigation_opens_and_closes(kind, dialog, built_book, browser):
    tab = browser.new_page()
    _open(tab, built_book / "chapters/04_attention.html", WIDTHS["phone"])
    toggle = _visible_toggle(tab, kind)
    assert toggle.is_visible()
    modal = tab.locator(dialog)
    for close in ("Escape", "button"):
        assert not modal.evaluate("d => d.open")
        toggle.click()
        assert modal.evaluate("d => d.open"), f"the {kind} toggle opened nothing"
        link = modal.locator("a").first
        assert link.is_visible(), "the navigation dialog is empty"
        if close == "Escape":
            tab.keyboard.press("Escape")
        else:
            modal.locator("button.book-dialog-close").click()
        tab.wait_for_timeout(100)
        assert not modal.evaluate("d => d.open"), f"the {kind} navigation does not close"
    tab.close()


@pytest.mark.browser
def test_desktop_menu_button_collapses_the_sidebar(built_book, browser):
    tab = browser.new_page()
    _open(tab, built_book / "chapters/04_attention.html", WIDTHS["desktop"])
    sidebar = tab.locator("#pst-primary-sidebar")
    article = tab.locator(".bd-article")
    assert sidebar.is_visible()
    wide = article.bounding_box()["width"]
    _visible_toggle(tab, "primary").click()
    tab.wait_for_timeout(600)  # the theme animates the sidebar out
    assert not sidebar.is_visible()
    assert article.bounding_box()["width"] > wide
    _visible_toggle(tab, "primary").click()
    tab.wait_for_timeout(600)
    assert sidebar.is_visible()
    tab.close()


@pytest.mark.browser
def test_no_tooltip_is_left_after_a_tap(built_book, browser):
    """A phone (touch events, no hover) taps the navigation and colour-mode buttons next to the
    search button: no tooltip stays on screen (without book.css, "Color mode" stays and covers
    the search button)."""
    tab = browser.new_page()
    cdp = browser.new_cdp_session(tab)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    cdp.send("Emulation.setEmulatedMedia", {"features": [{"name": "hover", "value": "none"},
                                                         {"name": "pointer", "value": "coarse"}]})
    _open(tab, built_book / "chapters/04_attention.html", WIDTHS["phone"])
    assert tab.evaluate("() => matchMedia('(hover: none)').matches")
    tapped = 0
    for selector in (".bd-header-article .primary-toggle",
                     ".bd-header-article .theme-switch-button"):
        box = tab.locator(selector).first.bounding_box()
        point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        tab.wait_for_timeout(400)
        tab.keyboard.press("Escape")  # closes the navigation dialog the first tap opened
        tab.wait_for_timeout(300)
        tapped += 1
        shown = tab.evaluate("""() => [...document.querySelectorAll('.tooltip')]
            .filter(t => getComputedStyle(t).display !== 'none'
                         && t.getBoundingClientRect().width > 0)
            .map(t => t.textContent)""")
        assert shown == [], f"tooltip {shown} left on screen after a tap on {selector}"
    assert tapped == 2
    tab.close()


@pytest.mark.browser
def test_a_figure_shrunk_on_a_phone_opens_at_full_size(built_book, browser):
    tab = browser.new_page()
    _open(tab, built_book / "chapters/05_multi_head_attention.html", WIDTHS["phone"])
    index = tab.evaluate("""() => [...document.querySelectorAll('.bd-article .cell_output img')]
        .findIndex(img => img.naturalWidth > 1.5 * img.clientWidth)""")
    assert index >= 0, "no figure is shown smaller than its real size on a phone"
    figure = tab.locator(".bd-article .cell_output img").nth(index)
    figure.scroll_into_view_if_needed()
    figure.click()
    dialog = tab.locator("dialog.book-figure-zoom")
    assert dialog.evaluate("d => d.open")
    shown = dialog.locator("img").evaluate("i => [i.clientWidth, i.naturalWidth]")
    assert shown[0] == shown[1], "the enlarged figure is not at its real size"
    assert dialog.evaluate("d => d.getBoundingClientRect().right") <= WIDTHS["phone"]
    assert dialog.evaluate("d => d.scrollWidth > d.clientWidth")  # it scrolls inside
    dialog.click()
    assert not dialog.evaluate("d => d.open")
    assert tab.evaluate("() => document.documentElement.scrollWidth") <= WIDTHS["phone"]
    tab.close()


# ------------------------------------------------------------------------- dark mode
@pytest.mark.browser
@pytest.mark.parametrize("width", list(WIDTHS))
def test_dark_mode_controls_are_readable(width, built_book, browser):
    tab = browser.new_page()
    failures = []
    (SCREENSHOTS / f"{width}-dark").mkdir(parents=True, exist_ok=True)
    for page in toc_pages():
        _open(tab, built_book / f"{page}.html", WIDTHS[width], dark=True)
        tab.screenshot(path=str(SCREENSHOTS / f"{width}-dark" / f"{_slug(page)}.jpeg"),
                       type="jpeg", quality=60)  # the top of the page, in dark mode
        for item in tab.evaluate(CONTRAST_JS):
            if item["ratio"] < item["needed"]:
                failures.append(f"{page}: {json.dumps(item)}")
    tab.close()
    assert failures == [], "\n".join(sorted(set(failures))[:40])


# ------------------------------------------------------------------ solutions folded
def _solution_cells() -> int:
    count = 0
    for notebook in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        count += sum(bool(c["metadata"].get("nbgrader", {}).get("solution"))
                     for c in cells if c["cell_type"] == "code")
    return count


def _eqno(span) -> str:
    """The number an equation shows, "(7.1)", without its permalink."""
    return "".join(span.find_all(string=True, recursive=False)).strip()


def _html(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(), "html.parser")


def test_every_coding_solution_is_folded(built_book):
    folded = 0
    for page in toc_pages():
        soup = _html(built_book / f"{page}.html")
        boxes = soup.select("details.solution")
        folded += len(boxes)
        for box in boxes:
            assert box.summary.get_text(strip=True) == "Solution"
            assert "BEGIN SOLUTION" in box.get_text()
        for pre in soup.select("pre"):
            if "BEGIN SOLUTION" in pre.get_text():
                assert pre.find_parent("details", class_="solution"), \
                    f"{page}: a solution shown unfolded"
    assert folded == _solution_cells() > 0


@pytest.mark.browser
def test_solutions_open_on_click(built_book, browser):
    tab = browser.new_page()
    _open(tab, built_book / "chapters/03_words_as_vectors.html", WIDTHS["desktop"])
    box = tab.locator("details.solution").first
    assert box.get_attribute("open") is None
    solution = box.locator("pre").first
    passed = box.get_by_text("[PASSED]").first
    assert not solution.is_visible() and not passed.is_visible()
    box.locator("summary").click()
    assert solution.is_visible() and passed.is_visible()
    assert "BEGIN SOLUTION" in solution.text_content()
    tab.close()


# --------------------------------------------------------------- numbers per chapter
def test_equations_are_numbered_per_chapter(built_book):
    numbers: dict[str, str] = {}   # equation id -> "(7.1)"
    for page in toc_pages():
        soup = _html(built_book / f"{page}.html")
        match = CHAPTER.match(page)
        shown = []
        for math in soup.select("div.math[id^=equation-]"):
            number = _eqno(math.select_one("span.eqno"))
            numbers[math["id"]] = number
            shown.append(number)
        if match:
            chapter = int(match.group(1))
            assert shown == [f"({chapter}.{k})" for k in range(1, len(shown) + 1)], page
    assert numbers["equation-eq-softmax-regression"] == "(7.1)"  # chapter 7's first
    references = 0
    for page in toc_pages():
        soup = _html(built_book / f"{page}.html")
        for link in soup.select("a.reference[href*='#equation-']"):
            target = link["href"].split("#", 1)[1]
            assert link.get_text(strip=True) == numbers[target], (page, link)
            references += 1
    assert references > 50


def test_no_image_has_its_file_path_as_alt_text(built_book):
    for page in toc_pages():
        for img in _html(built_book / f"{page}.html").select("img"):
            alt = img.get("alt", "")
            assert alt and alt != img.get("src") and not re.search(
                r"\.(png|jpe?g|svg|gif)$", alt), f"{page}: {img}"


def test_chapter_figures_have_caption_and_alt_metadata():
    """Lists the figures of the chapters that still lack myst-nb figure metadata
    (``{"mystnb": {"figure": {"caption", "name"}, "image": {"alt"}}}``), so authors can fix them."""
    missing = []
    for notebook in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        for index, cell in enumerate(json.loads(notebook.read_text())["cells"]):
            if cell["cell_type"] != "code" or not any(
                    key.startswith("image/") for out in cell.get("outputs", [])
                    for key in out.get("data", {})):
                continue
            meta = cell["metadata"].get("mystnb", {})
            if not (meta.get("image", {}).get("alt") and meta.get("figure", {}).get("caption")
                    and meta.get("figure", {}).get("name")):
                first_line = "".join(cell["source"]).split("\n")[0][:60]
                missing.append(f"{notebook.name} cell {index}: {first_line}")
    assert missing == [], "figures without caption/name/alt metadata:\n" + "\n".join(missing)


# -------------------------------------------------------- a fixture book, two editions
def _build_fixture(tmp_path: Path, solutions: str) -> Path:
    """The fixture chapter built with the book's own _config.yml and extension."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.pop("bibtex_bibfiles", None)
    config["sphinx"]["config"].pop("bibtex_reference_style", None)
    config["sphinx"]["local_extensions"] = {"offline_book": str(ROOT / "book")}
    config["sphinx"]["config"]["html_static_path"] = [str(ROOT / "book" / "assets")]
    source = tmp_path / f"fixture-{solutions}"
    (source / "chapters").mkdir(parents=True)
    shutil.copy(FIXTURE, source / "chapters" / "03_fixture.ipynb")
    (source / "intro.md").write_text("# Fixture book\n")
    (source / "_config.yml").write_text(yaml.safe_dump(config))
    (source / "_toc.yml").write_text(yaml.safe_dump(
        {"format": "jb-book", "root": "intro",
         "chapters": [{"file": "chapters/03_fixture"}]}))
    env = dict(os.environ, LMCORE_BOOK_SOLUTIONS=solutions,
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(source), "--warningiserror",
                             "--keep-going", "--quiet"], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return source / "_build" / "html" / "chapters" / "03_fixture.html"


def _downloadable(html_file: Path) -> str:
    """The notebook a reader downloads from the page."""
    return (html_file.parents[1] / "_sources" / "chapters" / "03_fixture.ipynb").read_text()


@pytest.fixture(scope="module")
def fixture_folded_page(tmp_path_factory) -> Path:
    return _build_fixture(tmp_path_factory.mktemp("fold"), "fold")


@pytest.fixture(scope="module")
def fixture_folded(fixture_folded_page):
    return _html(fixture_folded_page)


def test_fixture_figures_are_numbered_captioned_with_alt_text(fixture_folded):
    figures = {f["id"]: f for f in fixture_folded.select("figure")}
    red, green = figures["fig-ch03-red"], figures["fig-ch03-green"]
    assert red.select_one(".caption-number").get_text(strip=True) == "Figure 3.1"
    assert green.select_one(".caption-number").get_text(strip=True) == "Figure 3.2"
    assert "A red line going up." in red.figcaption.get_text()
    assert red.img["alt"] == "A red diagonal line from bottom left to top right."
    # no alt metadata: the caption, never the file path
    assert green.img["alt"] == "A green line with a caption but no alt text."
    bare = [img for img in fixture_folded.select("img") if not img.find_parent("figure")]
    assert len(bare) == 1 and "3.2 Figures" in bare[0]["alt"]
    references = [a.get_text(strip=True) for a in fixture_folded.select("a.reference")
                  if "#fig-ch03" in a.get("href", "")]
    assert references == ["Figure 3.2", "Figure 3.1"]


def test_fixture_equations_are_numbered_per_chapter(fixture_folded):
    assert [_eqno(s) for s in fixture_folded.select("span.eqno")] == \
        ["(3.1)", "(3.2)"]
    references = fixture_folded.select("a.reference[href*='#equation-']")
    assert [a.get_text(strip=True) for a in references] == ["(3.2)", "(3.1)"]


def test_the_fixture_book_with_solutions_offers_the_master_notebook(fixture_folded_page):
    assert "return 2 * x" in _downloadable(fixture_folded_page)


def test_fixture_solution_and_its_check_are_folded(fixture_folded):
    [box] = fixture_folded.select("details.solution")
    assert box.summary.get_text(strip=True) == "Solution"
    text = box.get_text()
    assert "return 2 * x" in text and 'check("ch03.double", double)' in text
    assert "[PASSED] ch03.double" in text
    outside = fixture_folded.get_text().replace(text, "")
    assert "return 2 * x" not in outside and "[PASSED]" not in outside


def test_a_book_without_solutions(tmp_path):
    html_file = _build_fixture(tmp_path, "omit")
    soup = _html(html_file)
    text = soup.get_text()
    notebook = _downloadable(html_file)
    assert "return 2 * x" not in notebook and "NotImplementedError" in notebook
    assert not soup.select("details.solution")
    assert "return 2 * x" not in text and "[PASSED]" not in text
    assert "raise NotImplementedError()" in text and "def double(x):" in text
    assert 'check("ch03.double", double)' in text
