"""JupyterLab as the book's learners get it: ``python -m lmcore.viz.labsetup`` (run by the
set-up, ``make setup``), writes three settings files into the environment (``sys.prefix``):

* ``share/jupyter/lab/settings/overrides.json``: JupyterLab saves the state of the live
  widgets into a notebook when the learner saves it (setting "Save Jupyter widget state in
  notebooks"), so a chapter that was run, saved and reopened shows its widgets' last state
  instead of "Error displaying widget: model not found";
* ``etc/jupyter/labconfig/page_config.json``: nbgrader's JupyterLab extension is disabled,
  so learners see no "Formgrader", "Validate" or "Create Assignment" panels;
* ``etc/jupyter/jupyter_server_config.json``: nbgrader's server extensions are disabled.

An instructor turns nbgrader back on with
``jupyter labextension enable --level=sys_prefix @jupyter/nbgrader`` and
``jupyter server extension enable --sys-prefix nbgrader`` (the nbgrader command line works
either way). Existing settings in these files are kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

WIDGETS_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"
NBGRADER_LAB = "@jupyter/nbgrader"
NBGRADER_SERVER = ("nbgrader", "nbgrader.server_extensions.formgrader",
                   "nbgrader.server_extensions.validate_assignment",
                   "nbgrader.server_extensions.assignment_list",
                   "nbgrader.server_extensions.course_list")


def _update(path: Path, change: dict[str, Any]) -> None:
    """Merge ``change`` (two levels deep) into the JSON file at ``path``."""
    data = json.loads(path.read_text()) if path.exists() else {}
    for key, value in change.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def configure(prefix: str | Path = sys.prefix) -> list[Path]:
    """Write the three settings files under ``prefix``; returns their paths."""
    prefix = Path(prefix)
    overrides = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    page_config = prefix / "etc" / "jupyter" / "labconfig" / "page_config.json"
    server = prefix / "etc" / "jupyter" / "jupyter_server_config.json"
    _update(overrides, {WIDGETS_PLUGIN: {"saveState": True}})
    _update(page_config, {"disabledExtensions": {NBGRADER_LAB: True}})
    _update(server, {"ServerApp": {"jpserver_extensions": {
        name: False for name in NBGRADER_SERVER}}})
    return [overrides, page_config, server]


if __name__ == "__main__":
    for written in configure():
        print(f"wrote {written}")
