"""The rooms' arrows hold: no import from a lower room to a higher one, no package importing
another's private module, no loop, and the library's core never importing the sandboxes (it
imports with the web stack absent)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "toolkit"

#: each room's floor, from the ground up (DESIGN.md "Rooms"); a module may import its own floor or lower
FLOORS = {
    "toolkit.shapes": 0, "toolkit.errors": 0, "toolkit.registry": 0, "toolkit._paths": 0,
    "toolkit.export_paths": 0, "toolkit.spreadsheet_cells": 0, "toolkit.file_lock": 0, "toolkit.private_files": 0,
    "toolkit.version": 0, "toolkit.config_schema": 0, "toolkit._slow_imports": 0, "toolkit._arrow_bytes": 0,
    "toolkit._fixed_width": 0,
    "toolkit.sources": 1, "toolkit.mapping": 2, "toolkit.audit": 2, "toolkit.destinations": 3,
    "toolkit.load": 4, "toolkit.conformance": 4, "toolkit.verify": 5, "toolkit.reports": 6, "toolkit.workspace": 6,
    "toolkit.notebook_runs": 7, "toolkit.workflow": 7, "toolkit.cli": 8, "toolkit.demo": 8, "toolkit": 9,
}
#: the only modules that start the sandboxes (lazily, when asked to)
SANDBOX_STARTERS = {"toolkit.cli", "toolkit.demo"}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """(absolute module imported, line) for every import in the file, at any depth; imports for
    type checking only (``if TYPE_CHECKING:``) are not arrows and are left out."""
    mod = _module(path)
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING"
                   for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module:
                out.append((target, node.lineno))
            else:  # "from . import x": the submodule x, or a name of the package itself
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    is_module = (ROOT / Path(*sub.split(".")) ).with_suffix(".py").exists() or \
                        (ROOT / Path(*sub.split("."))).is_dir()
                    out.append((sub if is_module else target, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
    return out


def _room(module: str) -> str:
    best = max((r for r in FLOORS if module == r or module.startswith(r + ".")), key=len, default=None)
    assert best is not None, f"{module} belongs to no room: add it to FLOORS (and to DESIGN's rooms)"
    return best


def _graph() -> dict[str, list[tuple[str, int]]]:
    return {_module(p): [(t, n) for t, n in _imports(p) if t.split(".")[0] in ("toolkit", "crm_sandbox")]
            for p in sorted(PACKAGE.rglob("*.py"))}


def test_no_room_imports_a_higher_one():
    wrong = []
    for mod, imports in _graph().items():
        for target, line in imports:
            if target.startswith("crm_sandbox"):
                continue
            if FLOORS[_room(target)] > FLOORS[_room(mod)]:
                wrong.append(f"{mod}:{line} imports {target} ({_room(mod)} is below {_room(target)})")
    assert wrong == []


def test_no_package_imports_another_packages_private_module():
    wrong = []
    for mod, imports in _graph().items():
        for target, line in imports:
            parts = target.split(".")
            for i, part in enumerate(parts):
                if part.startswith("_") and not part.startswith("__"):
                    owner = ".".join(parts[:i])  # the package the private module belongs to
                    if owner and not (mod == owner or mod.startswith(owner + ".")) and owner != "toolkit":
                        wrong.append(f"{mod}:{line} imports {target}")
                    break
    assert wrong == []


def test_no_import_loops_between_modules():
    graph = {m: {t for t, _ in imps if t in _graph_keys()} for m, imps in _graph().items()}
    seen, stack, loops = set(), [], []

    def visit(m):
        if m in stack:
            loops.append(stack[stack.index(m):] + [m])
            return
        if m in seen:
            return
        seen.add(m)
        stack.append(m)
        for t in graph.get(m, ()):
            if t != m and not m.startswith(t + ".") and t != "toolkit":  # a package's own __init__
                visit(t)
        stack.pop()

    for m in graph:
        visit(m)
    assert loops == []


def _graph_keys() -> set[str]:
    return {_module(p) for p in PACKAGE.rglob("*.py")}


def test_only_the_cli_and_the_demo_start_the_sandboxes():
    users = {mod for mod, imports in _graph().items() for t, _ in imports if t.startswith("crm_sandbox")}
    assert users <= SANDBOX_STARTERS


def test_the_core_imports_without_the_web_stack():
    code = ("import sys\n"
            "for m in ('starlette', 'uvicorn', 'openapi_core', 'jsonschema', 'crm_sandbox'):\n"
            "    sys.modules[m] = None  # as if not installed\n"
            "import toolkit, toolkit.workflow, toolkit.cli, toolkit.load, toolkit.verify\n"
            "from toolkit.cli import main\n"
            "print(main(['demo', '--patients', '20', '--out', sys.argv[1]]))\n")
    run = subprocess.run([sys.executable, "-c", code, str(ROOT / "build" / "no-sandbox-demo")], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "2" and "[sandbox]" in run.stderr
