"""A small Sphinx extension that keeps the built book fully offline and its console clean.

sphinx-thebe (a dependency of Jupyter Book 1) adds to every page an inline script that names a
CDN address for its live-code bundle, twice (so every page logs "Identifier 'THEBE_JS_URL' has
already been declared"). This book does not use thebe (its notebooks run in Jupyter), so the
extension drops thebe's scripts from every page.
"""

from __future__ import annotations


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


def setup(app):
    app.connect("html-page-context", _drop_thebe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
