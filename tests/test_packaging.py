"""pyproject.toml is the pip truth; environment.yml must list the same dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_lists_the_same_dependencies_from_conda_forge():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pip_deps = {_name(d): d for d in project["dependencies"] + extras["sandbox"] + extras["test"]
                if not d.startswith("dental-crm-toolkit")}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    from_conda = [d for d in env["dependencies"] if isinstance(d, str) and d not in ("pip", "python=3.11")]
    listed = {_name(d): d for d in from_conda + [d for d in pip_section if not d.startswith("-e")]}
    assert listed.keys() == pip_deps.keys()
    for name in pip_deps:  # same lower bounds, not only the same names
        assert pip_deps[name].replace(" ", "") == listed[name].replace(" ", ""), name
    assert len(from_conda) > len(pip_section)  # conda-forge packages where they exist, pip for the rest
    assert "python=3.11" in env["dependencies"]
    assert "-e .[sandbox]" in pip_section


def test_dependencies_are_lower_bounded():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"]:
        assert ">=" in dep, dep
    assert project["scripts"]["crm-migrate"] == "toolkit.cli:main"


def test_notebooks_are_committed_without_outputs_and_with_a_parameters_cell():
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        book = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), path.name
        params = [c for c in book.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, path.name
        assert "token" not in params[0].source.lower(), path.name
