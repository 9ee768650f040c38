"""The book's own Sphinx extension: an offline, readable book built from the chapter notebooks.

What it does, each at the cause rather than by post-editing HTML:

* **Offline and a clean console.** sphinx-thebe (a dependency of Jupyter Book 1) adds to every
  page an inline script naming a CDN address for its live-code bundle, twice (so every page
  logged "Identifier 'THEBE_JS_URL' has already been declared"). The book does not use thebe,
  so its scripts are dropped from every page.
* **Numbers per chapter.** Sections and exercises are numbered per chapter in the chapters'
  own headings; Sphinx numbers equations, figures and tables through the whole book when the
  table of contents is not numbered. After Sphinx has assigned its numbers, every numbered
  item of ``chapters/NN_slug`` is renumbered ``(NN, k)`` in document order, so the equation
  shows "(7.1)" and every ``{eq}`` / ``{numref}`` to it, on any page, shows the same.
  Pages that are not chapters number their items from 1 on the page.
* **Coding solutions folded.** A code cell with nbgrader metadata ``solution: true`` and the
  check cell after it (nbgrader ``grade: true``) are put behind a "Solution" toggle
  (``<details class="solution">``), like the conceptual answers behind "Answer".
  ``book_solutions = "omit"`` (or the environment variable ``LMCORE_BOOK_SOLUTIONS=omit``)
  builds a book without them: the solution cell is replaced by nbgrader's student stub, the
  check cell keeps its code but loses its stored result, and the notebooks offered for
  download are the student edition (``lmcore.classroom.student_edition``).
* **Alt text.** An image without alt text would get its file path as alt text (docutils'
  default). Such an image gets its figure caption instead, or a description naming the
  section it belongs to; ``figure-cell`` metadata in the notebooks is the proper fix
  (``tests/test_book_layout.py`` lists the figures still lacking it).
* **Editions.** The same sources make an English and a Chinese edition (``book/editions.py``
  builds both and holds the per-language values). For ``language = zh_CN`` the extension
  switches to that edition's table of contents, title, footer, search placeholder, figure and
  table names and toggle labels (the ``<summary>Answer</summary>`` of the notebooks is raw
  HTML, which gettext does not extract, so its label is set here), gives the Chinese search
  index a jieba dictionary of the glossary's terms, and loads the views' interface text in
  Chinese (``lmcore/viz/static/i18n.js``). Every page of either edition gets a link to the
  same page in the other edition (relative, so the site works from a folder); the root page
  offers the other edition in a sentence too.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from docutils import nodes

sys.path.insert(0, str(Path(__file__).resolve().parent))
import editions  # noqa: E402  (book/editions.py: the per-language values)

SOLUTION_MODES = ("fold", "omit")
CHAPTER_DOC = re.compile(r"(?:^|/)chapters/(\d+)_[^/]*$")


# ----------------------------------------------------------------------------- offline
def _drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    kept = []
    for script in scripts:
        filename = str(script)
        body = getattr(script, "attributes", {}).get("body", "") or ""
        if "sphinx-thebe" in filename or "THEBE_JS_URL" in body or "unpkg.com" in filename:
            continue
        kept.append(script)
    context["script_files"] = kept


# ------------------------------------------------------------------- numbers per chapter
def chapter_number(docname: str) -> int | None:
    """``chapters/07_gradient_descent`` -> 7; None for pages that are not chapters."""
    match = CHAPTER_DOC.search(docname)
    return int(match.group(1)) if match else None


def _number_per_chapter(app, env):
    """Renumber equations, figures, tables and code listings per chapter: (chapter, k)."""
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        chapter = chapter_number(docname)
        prefix = (chapter,) if chapter is not None else ()
        for figtype, numbers in by_type.items():
            in_order = sorted(numbers, key=lambda node_id: numbers[node_id])
            renumbered = {node_id: (*prefix, k) for k, node_id in enumerate(in_order, 1)}
            if renumbered != numbers:
                by_type[figtype] = renumbered
                changed.append(docname)
    # Every page that refers to a renumbered item must be written again too; Sphinx decides
    # that from its own (book-wide) numbers, so ask for all pages: writing is cheap.
    return sorted(set(changed)) and sorted(env.found_docs)


# ------------------------------------------------------------------ folded solutions
class solution_box(nodes.General, nodes.Element):
    """``<details class="solution"><summary>Solution</summary> ... </details>``."""


def _visit_solution_box(self, node):
    label = editions.edition(self.builder.config.language)["labels"]["Solution"]
    self.body.append('<details class="solution">'
                     f'<summary>{label}</summary>\n')


def _depart_solution_box(self, node):
    self.body.append("</details>\n")


def _visit_skip(self, node):
    raise nodes.SkipNode


def _nbgrader(node) -> dict:
    return (node.get("cell_metadata") or {}).get("nbgrader") or {}


def _is_code_cell(node) -> bool:
    return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"


def _classroom():
    """lmcore.classroom, which holds the one rule for what a student gets."""
    try:
        from lmcore import classroom
    except ImportError:  # the book is built from the project root, next to lmcore/
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from lmcore import classroom
    return classroom


def _student_stub(source: str) -> str:
    """nbgrader's student version of a solution cell."""
    return _classroom().strip_solutions(source)[0]


def _student_sources(app, exception):
    """Without solutions, the notebooks a reader can download from a page ("Download this
    page") are the student edition too, not the master notebooks Sphinx copies to _sources/."""
    if exception is not None or app.config.book_solutions != "omit" \
            or app.builder.format != "html":
        return
    import nbformat
    for path in sorted((Path(app.outdir) / "_sources").rglob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        nbformat.write(_classroom().student_edition(notebook), path)


def _cell_source(cell) -> str:
    blocks = list(cell.findall(nodes.literal_block))
    return blocks[0].astext() if blocks else ""


def _solutions(app, doctree):
    mode = app.config.book_solutions
    if mode not in SOLUTION_MODES:
        raise ValueError(f"book_solutions: got {mode!r}, expected one of {SOLUTION_MODES}")
    for cell in list(doctree.findall(_is_code_cell)):
        if not _nbgrader(cell).get("solution"):
            continue
        parent = cell.parent
        index = parent.index(cell)
        check = None
        following = parent[index + 1] if index + 1 < len(parent) else None
        if following is not None and _is_code_cell(following) \
                and _nbgrader(following).get("grade") and not _nbgrader(following).get("solution"):
            check = following
        if mode == "fold":
            box = solution_box()
            parent.replace(cell, box)
            box += cell
            if check is not None:
                parent.remove(check)
                box += check
            continue
        # omit: show what a student gets, and no stored result of the reference solution
        stub = _student_stub(_cell_source(cell))
        for block in cell.findall(nodes.literal_block):
            block.children = [nodes.Text(stub)]
            block["classes"] = block.get("classes", [])
            break
        for output in [n for n in cell.findall(nodes.container)
                       if n.get("nb_element") == "cell_code_output"]:
            output.parent.remove(output)
        if check is not None:
            for output in [n for n in check.findall(nodes.container)
                           if n.get("nb_element") == "cell_code_output"]:
                output.parent.remove(output)


# -------------------------------------------------------------------------- alt text
def _section_title(node) -> str:
    while node is not None:
        if isinstance(node, nodes.section) and node.children \
                and isinstance(node[0], nodes.title):
            return node[0].astext()
        node = node.parent
    return ""


def _alt_text(app, doctree):
    edition = editions.edition(app.config.language)
    for image in doctree.findall(nodes.image):
        if image.get("alt"):
            continue
        figure = image.parent
        while figure is not None and not isinstance(figure, nodes.figure):
            figure = figure.parent
        captions = list(figure.findall(nodes.caption)) if figure is not None else []
        if captions:
            image["alt"] = captions[0].astext()
            continue
        title = _section_title(image)
        image["alt"] = (edition["figure_alt_section"].format(title=title)
                        if title else edition["figure_alt"])


# --------------------------------------------------------------------------- editions
ANSWER_SUMMARY = re.compile(r"(<summary>)\s*Answer\s*(</summary>)")
I18N_JS = Path(__file__).resolve().parents[1] / "lmcore" / "viz" / "static" / "i18n.js"
GLOSSARY = Path(__file__).resolve().parent / "glossary.md"
GLOSSARY_TERM = re.compile(r"^\S.* \u00b7 (.+)$")


def _edition_config(app, config):
    """Per-language values of ``editions.EDITIONS`` for a translated edition."""
    language = config.language or "en"
    edition = editions.edition(language)
    if language == "en":
        return
    toc = Path(config.external_toc_path or "_toc.yml")
    if toc.name == "_toc.yml":
        config.external_toc_path = str(toc.with_name(edition["toc"]))
    config.html_title = edition["title"]
    options = dict(config.html_theme_options or {})
    options["extra_footer"] = edition["extra_footer"]
    options["search_bar_text"] = edition["search_bar_text"]
    config.html_theme_options = options
    config.numfig_format = dict(config.numfig_format or {}, **edition["numfig_format"])
    if language.startswith("zh"):
        config.html_search_options = dict(config.html_search_options or {},
                                          dict=str(_jieba_dictionary(app)))


def glossary_terms_zh() -> list[str]:
    """The Chinese terms of the glossary (``term · 中文（别名）`` lines), each variant once."""
    terms = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        match = GLOSSARY_TERM.match(line)
        if not match:
            continue
        for term in re.split(r"[（）()、，,]", match.group(1)):
            term = term.strip()
            if re.search(r"[\u4e00-\u9fff]", term) and " " not in term and term not in terms:
                terms.append(term)
    return terms


def _jieba_dictionary(app) -> Path:
    """A jieba user dictionary of the glossary's terms, so that the search index keeps a term
    such as 困惑度 whole (jieba's own dictionary would cut it into 困惑 + 度)."""
    path = Path(app.doctreedir) / "jieba-glossary.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{term} 1000 n\n" for term in glossary_terms_zh()),
                    encoding="utf-8")
    return path


def _answer_labels(app, doctree):
    """The notebooks' ``<summary>Answer</summary>`` (raw HTML) in the edition's language."""
    label = editions.edition(app.config.language)["labels"]["Answer"]
    if label == "Answer":
        return
    for raw in list(doctree.findall(nodes.raw)):
        text = raw.astext()
        if "<summary>" in text and ANSWER_SUMMARY.search(text):
            new = nodes.raw(raw.rawsource, ANSWER_SUMMARY.sub(rf"\g<1>{label}\g<2>", text),
                            **{k: v for k, v in raw.attributes.items() if k == "format"})
            raw.replace_self(new)


def _language_switch(app, pagename, templatename, context, doctree):
    """A link to the same page in the other edition, at the top of every page; on the root
    page a sentence offering the other edition; ``<link rel="alternate">`` in the head."""
    language = app.config.language or "en"
    root = pagename == app.config.root_doc
    parts, head = [], []
    for other in editions.other_editions(language):
        target = editions.edition(other)
        url = editions.relative_url(pagename, language, other)
        lang = target["html_lang"]
        head.append(f'<link rel="alternate" hreflang="{lang}" href="{url}" />')
        link = (f'<a class="book-language-link" href="{url}" hreflang="{lang}" lang="{lang}" '
                f'title="{target["switch_title"]}">'
                f'{target["offer_link"] if root else target["switch"]}</a>')
        # on the root page, a sentence in the other edition's language offers it
        parts.append(f'<span lang="{lang}">{target["offer"]}</span> {link}' if root else link)
    if not parts or "body" not in context:
        return
    kind = "book-language-switch book-language-offer" if root else "book-language-switch"
    switch = f'<p class="{kind}">{" · ".join(parts)}</p>'
    context["body"] = switch + context["body"]
    context["metatags"] = context.get("metatags", "") + "\n".join(head)


def _interface_text(app):
    """The views' interface text in the edition's language: lmcore's message catalog."""
    if (app.config.language or "en") != "en" and app.builder.format == "html":
        app.add_js_file("lmcore-i18n.js")


def _copy_interface_text(app, exception):
    if exception is None and (app.config.language or "en") != "en" \
            and app.builder.format == "html":
        static = Path(app.outdir) / "_static"
        static.mkdir(exist_ok=True)
        (static / "lmcore-i18n.js").write_text(I18N_JS.read_text(encoding="utf-8"),
                                               encoding="utf-8")


def setup(app):
    app.add_config_value("book_solutions",
                         os.environ.get("LMCORE_BOOK_SOLUTIONS", "fold"), "env", [str])
    app.add_node(solution_box, html=(_visit_solution_box, _depart_solution_box),
                 latex=(_visit_skip, None), text=(_visit_skip, None))
    app.connect("doctree-read", _solutions)
    app.connect("doctree-read", _alt_text)
    app.connect("build-finished", _student_sources)
    app.connect("env-get-updated", _number_per_chapter, priority=900)
    app.connect("html-page-context", _drop_thebe, priority=900)
    app.connect("config-inited", _edition_config, priority=100)  # before the toc is read
    app.connect("doctree-read", _answer_labels)
    app.connect("builder-inited", _interface_text)
    app.connect("build-finished", _copy_interface_text)
    app.connect("html-page-context", _language_switch)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
