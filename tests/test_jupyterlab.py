"""The chapters as a learner opens them: a real JupyterLab, driven by headless Chromium.

The test starts JupyterLab on a free local port (a token, no browser, its root a temporary
copy of chapters/, fresh user settings and a fresh notebook-trust database, so every chapter
opens untrusted, as a downloaded notebook does), and stops it by its process id. Then:

* every chapter, before anything runs: each stored view shows a non-empty picture, no
  output shows a widget's raw text (``VBox(``) or a widget error, MyST roles (``{eq}``,
  ``{cite:p}``) are rendered, the notebook names the book's kernel and is not marked
  modified after opening;
* chapter 5 is run: the live attention explorer's layer, head and sentence change the
  picture, and the view has no layer selector of its own (one state);
* chapter 5 is saved and reopened: no "Error displaying widget" anywhere.

Screenshots go to the test's temporary folder. No request of the page leaves localhost.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.browser

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
TOKEN = "lmbook-test-token"
VIEW_CLASSES = ("lmcore-attention", "lmcore-tokens", "lmcore-nn", "lmcore-landscape",
                "lmcore-masking", "lmcore-live-notice")
# no virtual scrolling, so every cell is in the page; no news or update checks
USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stored_views(path: Path) -> int:
    """How many outputs of the stored notebook hold an lmcore view or live-view notice."""
    notebook = json.loads(path.read_text())
    return sum(any(f'class="{name}"' in "".join(output.get("data", {}).get("text/html", ""))
                   for name in VIEW_CLASSES)
               for cell in notebook["cells"] for output in cell.get("outputs", []))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A running JupyterLab over a copy of chapters/: yields (base url, folder, shots)."""
    home = tmp_path_factory.mktemp("lab")
    root = home / "chapters"
    shutil.copytree(ROOT / "chapters", root)
    settings = home / "user-settings"
    for name, values in USER_SETTINGS.items():
        target = settings / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    shots = home / "screenshots"
    shots.mkdir()
    port = _free_port()
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               MPLBACKEND="Agg")
    log = open(home / "lab.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={TOKEN}", "--allow-root", f"--ServerApp.root_dir={root}",
         "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("JupyterLab did not start:\n"
                                         + (home / "lab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, root, shots
    finally:
        process.terminate()                   # stopped by its own process id
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def lab_page(browser, lab):
    base = lab[0]
    page = browser.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.requests = requests
    yield page
    page.close()
    outside = [url for url in requests if not url.startswith(base + "/")
               and not url.startswith(("data:", "blob:", "ws://127.0.0.1"))]
    assert outside == [], f"requests that left localhost: {outside[:5]}"


def _shut_down_kernels(base: str) -> None:
    request = urllib.request.Request(f"{base}/api/sessions?token={TOKEN}")
    with urllib.request.urlopen(request, timeout=10) as response:
        sessions = json.load(response)
    for session in sessions:
        urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/sessions/{session['id']}?token={TOKEN}", method="DELETE"), timeout=30)


def _open(page, base: str, name: str) -> None:
    page.goto(f"{base}/lab/tree/{name}?token={TOKEN}&reset")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
    # the kernel named in the notebook starts, with no kernel-choice dialog
    page.wait_for_function(
        """() => { if (document.querySelector('.jp-Dialog')) return true;
                   const app = window.jupyterapp; const panel = app && app.shell.currentWidget;
                   const kernel = panel && panel.sessionContext && panel.sessionContext.session
                                  && panel.sessionContext.session.kernel;
                   return kernel && kernel.status === 'idle'; }""", timeout=120_000)
    if page.locator(".jp-Dialog").count():
        message = page.locator(".jp-Dialog").inner_text()
        page.keyboard.press("Escape")
        raise AssertionError(f"{name}: a dialog opened instead of the book's kernel "
                             f"(re-execute it with `python -m lmcore.cli execute`): {message}")
    page.wait_for_timeout(1500)            # let the markdown (MyST) and outputs settle


def _current(page, expression: str):
    return page.evaluate(f"() => {{ const panel = window.jupyterapp.shell.currentWidget; "
                         f"return {expression}; }}")


def _check_views(page, name: str, expected: int, shots: Path) -> None:
    text = page.locator(".jp-NotebookPanel .jp-Notebook").inner_text()
    for bad in ("VBox(", "HBox(", "Error displaying widget", "model not found"):
        assert bad not in text, f"{name}: an output shows {bad!r}"
    views = page.evaluate("""(classes) => {
        const found = [];
        for (const cls of classes) for (const node of document.querySelectorAll(
                '.jp-NotebookPanel .jp-OutputArea-output .' + cls)) {
            const images = [...node.querySelectorAll('img')];
            const box = node.getBoundingClientRect();
            found.push({cls, height: box.height, width: box.width,
                        text: node.textContent.trim().length, images: images.length,
                        loaded: images.every(i => i.complete && i.naturalWidth > 0)});
        }
        return found; }""", list(VIEW_CLASSES))
    # the live-view notice holds a view's picture: count the notices and the bare views
    assert len(views) >= expected, f"{name}: {len(views)} views shown, {expected} stored"
    for view in views:
        assert view["height"] > 40 and view["width"] > 100, f"{name}: empty view {view}"
        assert view["loaded"] and (view["images"] or view["text"] > 20), f"{name}: {view}"
    selector = ", ".join(f".jp-OutputArea-output .{cls}" for cls in VIEW_CLASSES)
    for index, view in enumerate(page.locator(selector).all()):
        view.screenshot(path=str(shots / f"{Path(name).stem}-view{index}.png"))


def _check_myst(page, name: str) -> None:
    text = page.locator(".jp-NotebookPanel .jp-Notebook").inner_text()
    for raw in ("{eq}`", "{cite:p}`", "{cite}`", "$$"):
        assert raw not in text, f"{name}: MyST shown raw ({raw!r})"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem[:2])
def test_a_chapter_opened_before_running_shows_every_view(lab, lab_page, chapter):
    base, root, shots = lab
    _open(lab_page, base, chapter.name)
    lab_page.screenshot(path=str(shots / f"{chapter.stem}-opened.png"), full_page=True)
    _check_views(lab_page, chapter.name, _stored_views(chapter), shots)
    _check_myst(lab_page, chapter.name)
    metadata = _current(lab_page, "panel.context.model.toJSON().metadata")
    assert metadata.get("kernelspec", {}).get("name") == "lmbook", f"{chapter.name}: kernelspec"
    assert not _current(lab_page, "panel.context.model.dirty"), f"{chapter.name}: marked modified"
    # learners do not see the instructor's tools
    menus = lab_page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    assert not any("nbgrader" in m.lower() or "formgrader" in m.lower() for m in menus)
    assert lab_page.locator("text=Create Assignment").count() == 0
    _shut_down_kernels(base)


def _explorer(page):
    """The live attention explorer: the widget box holding the Layer dropdown."""
    return page.locator(".jp-OutputArea-output .widget-vbox").filter(
        has=page.locator(".widget-dropdown", has_text="Layer")).first


def _wait_for(page, explorer, condition: str, timeout: int = 60_000) -> None:
    """Wait until ``condition`` holds for the explorer's (re-drawn) view ``a``."""
    page.wait_for_function(
        f"e => {{ const a = e.querySelector('.lmcore-attention'); return a && ({condition}); }}",
        arg=explorer.element_handle(), timeout=timeout)


def _picture(explorer) -> str:
    return explorer.locator(".lmcore-attention canvas.lmav-lines").evaluate(
        "canvas => canvas.toDataURL()")


def test_chapter_5_runs_its_explorer_agrees_and_reopens_without_errors(lab, lab_page):
    base, root, shots = lab
    name = "05_multi_head_attention.ipynb"
    page = lab_page
    _open(page, base, name)
    # trusted (the command palette's "Trust Notebook"), before running: still no widget error
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:trust'); }")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_function("() => !document.querySelector('.jp-Dialog')")
    page.wait_for_timeout(2000)
    _check_views(page, name, _stored_views(root / name), shots)
    page.screenshot(path=str(shots / "05-trusted-before-running.png"))
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => { const panel = window.jupyterapp.shell.currentWidget;
                   const kernel = panel.sessionContext.session.kernel;
                   const busy = [...document.querySelectorAll('.jp-InputArea-prompt')]
                                .some(p => p.textContent.includes('*'));
                   return kernel.status === 'idle' && !busy; }""", timeout=600_000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                          ).filter(has_text="Traceback")
    assert errors.count() == 0
    explorer = _explorer(page)
    explorer.scroll_into_view_if_needed()
    view = explorer.locator(".lmcore-attention")
    view.wait_for()
    assert view.locator("select.lmav-layer").count() == 0       # one layer control only
    page.screenshot(path=str(shots / "05-explorer-layer0.png"))
    layer = explorer.locator(".widget-dropdown", has_text="Layer").locator("select")
    head = explorer.locator(".widget-dropdown", has_text="Head").locator("select")

    before = _picture(explorer)
    layer.select_option(label="layer 3")
    _wait_for(page, explorer, "a.getAttribute('data-layer') === '3'")
    view = explorer.locator(".lmcore-attention")
    assert view.locator(".lmav-title").inner_text().startswith("layer 3")
    assert _picture(explorer) != before
    before = _picture(explorer)
    head.select_option(label="head 2")
    _wait_for(page, explorer, "a.getAttribute('data-heads') === 'head 2'")
    assert explorer.locator(".lmcore-attention .lmav-title").inner_text() == "layer 3, head 2"
    assert layer.input_value() == "layer 3" and _picture(explorer) != before
    tokens = explorer.locator(".lmcore-attention .lmav-left .lmav-tok").all_inner_texts()
    sentence = explorer.locator(".widget-text input")
    sentence.fill("Dogs bark at night.")
    sentence.press("Enter")
    page.wait_for_function(
        """v => [...v.querySelectorAll('.lmcore-attention .lmav-left .lmav-tok')]
               .some(t => t.textContent === 'bark')""",
        arg=explorer.element_handle(), timeout=120_000)
    assert explorer.locator(".lmcore-attention .lmav-left .lmav-tok").all_inner_texts() != tokens
    assert explorer.locator(".lmcore-attention .lmav-title").inner_text() == "layer 3, head 2"
    page.screenshot(path=str(shots / "05-explorer-changed.png"))

    # save, close, reopen: the widgets come back from their saved state, no error
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = json.loads((root / name).read_text())
    assert "application/vnd.jupyter.widget-state+json" in saved["metadata"].get("widgets", {})
    _shut_down_kernels(base)
    page.evaluate("() => window.jupyterapp.commands.execute('application:close-all')")
    _open(page, base, name)
    page.wait_for_timeout(3000)
    text = page.locator(".jp-NotebookPanel .jp-Notebook").inner_text()
    page.screenshot(path=str(shots / "05-reopened.png"), full_page=True)
    assert "Error displaying widget" not in text and "VBox(" not in text
    _shut_down_kernels(base)
