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
    options = [r for r in pip_section if r.startswith("--")]
    listed = {_name(r): _spec(r) for r in pip_section if not r.startswith("--")}
    # torch: the CPU-only build from PyTorch's CPU index, bounded below in pyproject.toml
    assert listed.pop("torch") == "torch==2.13.0+cpu"
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    wanted_specs = {_name(r): _spec(r) for r in wanted if _name(r) != "torch"}
    assert listed == wanted_specs


def test_the_set_up_installs_a_cpu_only_torch_before_anything_else():
    makefile = (ROOT / "Makefile").read_text()
    pin = makefile.index(
        "pip install --quiet --no-deps $(TORCH_SPEC) --extra-index-url $(TORCH_INDEX)")
    assert pin < makefile.index("pip install --quiet -e '.[test]'")
    assert "TORCH_SPEC    ?= torch==$(TORCH_VERSION)+cpu" in makefile
    assert "TORCH_INDEX   ?= https://download.pytorch.org/whl/cpu" in makefile
    assert "torch>=" in (ROOT / "pyproject.toml").read_text()  # a lower bound, satisfied by the pin


def test_the_installed_torch_is_a_cpu_build():
    import torch
    assert torch.version.cuda is None, f"torch {torch.__version__} is a CUDA build"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make book" in readme
    assert re.search(r"^make test$", ci, re.MULTILINE)


def test_data_packages_are_installed_and_found():
    from lmcore.data import DATA_PACKAGES, package_folder
    for module in DATA_PACKAGES:
        assert package_folder(module).is_dir()
