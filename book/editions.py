"""The book's editions, English and Chinese (简体中文), built from the same sources.

    python book/editions.py                 # both editions (what `make book` runs)
    python book/editions.py zh_CN           # one edition
    python book/editions.py --catalogs      # update locales/ after an English change

The English edition is written to ``_build/html/`` (where it always was) and the Chinese one
to ``_build/html/zh_CN/``, so one folder holds the whole site and a page's counterpart in the
other edition is always at a fixed relative path (``zh_CN/<page>.html`` from the English page,
``../<page>.html`` back). Both are built by Jupyter Book's own Sphinx pipeline
(``jupyter_book.sphinx.build_sphinx``: the same ``_config.yml`` → Sphinx configuration that
``jupyter-book build`` uses, no generated conf.py to keep in step), with warnings as errors;
the Chinese edition differs only by ``language = zh_CN``. Everything that depends on the
language is applied by the book's extension (``book/offline_book.py``) from ``EDITIONS``
below, so a plain ``sphinx-build -D language=zh_CN`` on the conf.py that
``jupyter-book config sphinx .`` writes gives the same edition:

* the table of contents ``_toc.<language>.yml`` (part captions are not translated by gettext:
  sphinx-external-toc reads them after translation);
* the book's title, the footer, the search box's placeholder, the names of numbered figures
  and tables, the labels of the "Answer" and "Solution" toggles, the language switch;
* a jieba user dictionary made of the glossary's Chinese terms (``book/glossary.md``), so that
  the search index keeps terms such as 困惑度 whole.

Page text comes from the catalogs ``locales/<language>/LC_MESSAGES/<page>.po`` (one per page,
``gettext_compact = False``); a message without a translation falls back to English.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"

# Per-language values. "folder" is where the edition lives inside _build/html.
EDITIONS: dict[str, dict] = {
    "en": {
        "folder": "",
        "name": "English",
        "html_lang": "en",
        "toc": "_toc.yml",
        # title, footer and search placeholder of the English edition come from _config.yml
        "labels": {"Answer": "Answer", "Solution": "Solution"},
        "figure_alt": "Figure drawn by a code cell",
        "figure_alt_section": "Figure drawn by a code cell of the section \u201c{title}\u201d",
        "switch": "English",
        "switch_title": "Read this page in English",
        "offer": "This book is also available in English:",
        "offer_link": "Read the English edition",
    },
    "zh_CN": {
        "folder": "zh_CN",
        "name": "简体中文",
        "html_lang": "zh-CN",
        "toc": "_toc.zh_CN.yml",
        "title": "从第一性原理理解语言模型",
        "extra_footer": "离线构建：所有脚本、公式渲染器及其字体都由本文件夹提供。"
                        "中文文字使用读者系统自带的中文字体。",
        "search_bar_text": "搜索本书……",
        "numfig_format": {"figure": "图 %s", "table": "表 %s", "code-block": "代码 %s",
                          "section": "第 %s 节"},
        "labels": {"Answer": "答案", "Solution": "参考答案"},
        "figure_alt": "由代码单元格绘制的图",
        "figure_alt_section": "由“{title}”一节的代码单元格绘制的图",
        "switch": "中文",
        "switch_title": "阅读本页的中文版",
        "offer": "本书也有中文版（简体中文）：",
        "offer_link": "阅读中文版",
    },
}
LANGUAGES = tuple(EDITIONS)


def edition(language: str | None) -> dict:
    """The per-language values of ``language`` (Sphinx's ``language``; None means English)."""
    language = language or "en"
    if language not in EDITIONS:
        raise ValueError(f"language: got {language!r}, expected one of {LANGUAGES}")
    return EDITIONS[language]


def other_editions(language: str | None) -> list[str]:
    language = language or "en"
    return [other for other in LANGUAGES if other != language]


def relative_url(pagename: str, source: str, target: str) -> str:
    """The URL of page ``pagename`` of edition ``target``, relative to the same page of
    edition ``source`` (both inside one _build/html folder)."""
    depth = pagename.count("/") + (1 if edition(source)["folder"] else 0)
    folder = edition(target)["folder"]
    return "../" * depth + (f"{folder}/" if folder else "") + f"{pagename}.html"


def output_folder(language: str, build_dir: Path) -> Path:
    folder = edition(language)["folder"]
    return build_dir / "html" / folder if folder else build_dir / "html"


def build(language: str, build_dir: Path = ROOT / "_build", quiet: bool = True) -> Path:
    """Build one edition with warnings as errors; return its html folder."""
    from jupyter_book.sphinx import build_sphinx

    edition(language)
    build_dir = Path(build_dir).resolve()
    output = output_folder(language, build_dir)
    doctrees = build_dir / (".doctrees" if language == "en" else f".doctrees-{language}")
    overrides = {"external_toc_path": str(ROOT / "_toc.yml"), "latex_individualpages": False}
    if language != "en":
        overrides["language"] = language
    status = build_sphinx(ROOT, output, noconfig=True, path_config=str(ROOT / "_config.yml"),
                          confoverrides=overrides, doctreedir=doctrees, builder="html",
                          warningiserror=True, keep_going=True, quiet=quiet)
    if status != 0:
        raise SystemExit(f"the {language} edition failed to build (status {status!r})")
    return output


def extract_templates(output: Path) -> Path:
    """The message templates (.pot, one per page) of the current English sources."""
    from jupyter_book.sphinx import build_sphinx

    status = build_sphinx(ROOT, output, noconfig=True, path_config=str(ROOT / "_config.yml"),
                          confoverrides={"external_toc_path": str(ROOT / "_toc.yml"),
                                         "latex_individualpages": False},
                          doctreedir=output / ".doctrees", builder="gettext",
                          warningiserror=True, keep_going=True, quiet=True)
    if status != 0:
        raise SystemExit(f"extracting the messages failed (status {status!r})")
    return output


def update_catalogs(build_dir: Path = ROOT / "_build") -> None:
    """`sphinx-intl update` of the existing catalogs from fresh templates: a changed English
    message becomes fuzzy (or new and empty) until it is translated again."""
    import shutil
    import tempfile

    templates = extract_templates(Path(build_dir).resolve() / "gettext")
    for language in other_editions("en"):
        catalogs = LOCALES / language / "LC_MESSAGES"
        with tempfile.TemporaryDirectory() as chosen:
            # only the pages that have a catalog already (the others stay untranslated)
            for po in catalogs.rglob("*.po"):
                page = po.relative_to(catalogs).with_suffix(".pot")
                (Path(chosen) / page).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(templates / page, Path(chosen) / page)
            subprocess.run([str(Path(sys.executable).with_name("sphinx-intl")), "update",
                            "-p", chosen, "-l", language, "-d", str(LOCALES), "-w", "79"],
                           check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("languages", nargs="*", default=list(LANGUAGES))
    parser.add_argument("--build-dir", type=Path, default=ROOT / "_build")
    parser.add_argument("--sequential", action="store_true",
                        help="build one edition after the other (default: side by side)")
    parser.add_argument("--catalogs", action="store_true",
                        help="update the catalogs under locales/ instead of building")
    args = parser.parse_args(argv)
    if args.catalogs:
        update_catalogs(args.build_dir)
        return
    # one process per edition (Sphinx and docutils keep module-level state); side by side
    # unless --sequential: the editions share nothing but the sources
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT),
                                                       os.environ.get("PYTHONPATH", "")]))
    start = time.perf_counter()
    running, failed = {}, []

    def finish(language):
        if running.pop(language).wait() != 0:
            failed.append(language)
            return
        print(f">> {edition(language)['name']} edition: "
              f"{output_folder(language, args.build_dir.resolve()) / 'index.html'} "
              f"(done after {time.perf_counter() - start:.0f} s)", flush=True)

    for language in args.languages:
        running[language] = subprocess.Popen(
            [sys.executable, __file__, "--one", language, str(args.build_dir)], env=env)
        if args.sequential:
            finish(language)
    for language in list(running):
        finish(language)
    if failed:
        raise SystemExit(f"the build of {', '.join(failed)} failed")

if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        build(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
