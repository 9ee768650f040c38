"""show_source shows the formula part; the execute path writes the book's kernel and leaves
no widget reference that JupyterLab could report as missing; the JupyterLab set-up files."""

from __future__ import annotations

import json

import nbformat
import pytest

import lmcore
from lmcore.notebook import CHECKS_NOTE, formula_part
from lmcore.pretrain import mask_tokens


def test_show_source_hides_the_argument_checks_unless_asked():
    short = lmcore.show_source(mask_tokens).code
    full = lmcore.show_source(mask_tokens, full=True).code
    assert "check_int(" in full and "check_int(" not in short
    assert CHECKS_NOTE.format(name="mask_tokens") in short
    assert "labels[chosen] = rows[chosen]" in short          # the formula is all there
    assert short.count("\n") < full.count("\n")
    with pytest.raises(TypeError, match="'full' argument of show_source"):
        lmcore.show_source(mask_tokens, full="yes")


def test_a_formula_marker_ends_the_checks():
    code = ('def f(x):\n    """Doc."""\n    y = prepare(x)\n    z = other(y)\n'
            '    # -- formula --\n    return z * 2\n')
    shown = formula_part(code, "f")
    assert "prepare" not in shown and "return z * 2" in shown and '"""Doc."""' in shown
    plain = 'def g(x):\n    return x + 1\n'
    assert formula_part(plain, "g") == plain                  # nothing to hide


def test_execute_writes_the_kernelspec_and_empties_widget_views(tmp_path):
    from lmcore.cli import KERNELSPEC, execute_notebook
    from lmcore.viz._live import NOTICE, PLACEHOLDER, WIDGET_MIME
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        "import ipywidgets\nfrom lmcore.viz._live import live_panel\n"
        "live_panel([ipywidgets.IntSlider()], lambda: '<b>picture</b>')")]
    path = tmp_path / "widget.ipynb"
    nbformat.write(notebook, path)
    execute_notebook(path, timeout=120)
    stored = json.loads(path.read_text())
    assert stored["metadata"]["kernelspec"] == KERNELSPEC
    assert stored["metadata"]["language_info"]["name"] == "python"
    assert "widgets" not in stored["metadata"]
    notice, widget = stored["cells"][0]["outputs"]
    assert "".join(notice["data"]["text/plain"]) == NOTICE
    assert "<b>picture</b>" in "".join(notice["data"]["text/html"])
    assert "".join(widget["data"]["text/plain"]) == PLACEHOLDER
    assert widget["data"][WIDGET_MIME]["model_id"] == ""


def test_lab_setup_saves_widget_state_and_turns_nbgrader_off(tmp_path):
    from lmcore.viz.labsetup import configure
    settings = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"other:plugin": {"kept": 1}}))
    overrides, page_config, server = configure(tmp_path)
    assert json.loads(overrides.read_text()) == {
        "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True},
        "other:plugin": {"kept": 1}}
    assert json.loads(page_config.read_text())["disabledExtensions"] == {
        "@jupyter/nbgrader": True}
    extensions = json.loads(server.read_text())["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader"] is False and not any(extensions.values())
