"""Shared fixtures: the built book and a headless Chromium (Debian's package, no downloads)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# fixture notebooks are inputs of the book tests, not notebooks to validate (`make test` runs
# nbval over tests/)
collect_ignore_glob = ["fixtures/*"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def build_book(output: Path) -> Path:
    """Build both editions of the HTML book from the stored notebook outputs, as `make book`
    does (book/editions.py, warnings as errors), under ``output``; return the html folder
    (the English edition; the Chinese one is its ``zh_CN/`` folder)."""
    result = subprocess.run([sys.executable, str(ROOT / "book" / "editions.py"),
                             "--build-dir", str(output / "_build")],
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise AssertionError(f"the book's build failed:\n{result.stdout[-4000:]}\n"
                             f"{result.stderr[-4000:]}")
    return output / "_build" / "html"


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The book (both editions), built once per test session from the current sources."""
    return build_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="session")
def built_book_zh(built_book) -> Path:
    """The Chinese edition of the same build."""
    return built_book / "zh_CN"


# module scope: several test modules start their own Playwright, and the sync API allows only
# one running at a time in a thread
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run `make browser` (Debian packages chromium, "
                    "chromium-driver).")
    from playwright.sync_api import sync_playwright
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield context
        context.close()


class PageRecorder:
    """Opens a page and records every request and every console/page error."""

    def __init__(self, context, allowed_prefix: str):
        self.page = context.new_page()
        self.allowed_prefix = allowed_prefix
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("console", lambda message: message.type == "error"
                     and self.errors.append(f"console: {message.text}"))

    def outside_requests(self) -> list[str]:
        return [url for url in self.requests
                if not url.startswith(self.allowed_prefix) and not url.startswith("data:")]

    def close(self):
        self.page.close()


@pytest.fixture
def open_page(browser):
    """``open_page(path)`` loads a local file and returns a PageRecorder for it."""
    opened = []

    def _open(path: Path, allowed_folder: Path | None = None) -> PageRecorder:
        folder = (allowed_folder or path.parent).resolve()
        recorder = PageRecorder(browser, folder.as_uri() + "/")
        opened.append(recorder)
        recorder.page.goto(path.resolve().as_uri(), wait_until="load")
        return recorder

    yield _open
    for recorder in opened:
        recorder.close()


@pytest.fixture(scope="module")
def one_torch_thread():
    """Run a module's tests on one torch thread (small problems, repeatable sums), then
    restore the thread count."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_collection_modifyitems(items):
    """nbval waits 5 seconds for each message of a cell's output; after chapter 9's long
    pretraining cell that was too short on a busy kernel ("Timeout of 5 seconds exceeded
    waiting for output", then every later cell skipped). Wait up to a minute."""
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = 60
