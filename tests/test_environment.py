"""The set-up files agree with each other, and the data packages are where lmcore looks."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import ROOT


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ ;\[]", requirement.strip(), maxsplit=1)[0].lower()


def _spec(requirement: str) -> str:
    return requirement.replace(" ", "").lower()


def test_environment_yml_lists_exactly_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    listed = {_name(r): _spec(r) for r in pip_section}
    # torch is pinned in environment.yml (the CPU wheel) and bounded below in pyproject.toml
    assert listed.pop("torch") == "torch==2.13.0"
    wanted_specs = {_name(r): _spec(r) for r in wanted if _name(r) != "torch"}
    assert listed == wanted_specs


def test_the_set_up_pins_torch_before_anything_else():
    makefile = (ROOT / "Makefile").read_text()
    pin = makefile.index("pip install --quiet torch==2.13.0")
    assert pin < makefile.index("pip install --quiet -e '.[test]'")
    assert "torch>=" in (ROOT / "pyproject.toml").read_text()  # a lower bound, satisfied by the pin


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make book" in readme
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_data_packages_are_installed_and_found():
    from lmcore.data import DATA_PACKAGES, package_folder
    for module in DATA_PACKAGES:
        assert package_folder(module).is_dir()
