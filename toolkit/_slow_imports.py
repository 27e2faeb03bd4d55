"""Importing Great Expectations and jsonschema without paying for a grammar nothing here uses.

Importing GX imports ``altair``, which imports ``jsonschema``; ``jsonschema`` registers an "iri"
format check when the optional package ``rfc3987_syntax`` is installed (the notebook stack
installs it, through ``jupyter-events``). That package builds a Lark grammar when it is imported:
1.3–1.5 s of a cold process's 4–5.7 s GX import on a 2-core machine, for a check nothing here
makes (no suite or configuration schema of ours checks an "iri" format).

:func:`import_great_expectations` and :func:`import_jsonschema` put a stand-in for
``rfc3987_syntax`` in place while they import, if nothing has imported it yet. The stand-in
imports the real package the first time anything uses it — a call of ``is_valid_syntax`` (what
``jsonschema`` takes from it) or any other name — and from then on the real package is in
``sys.modules``; so every user of the package still gets the real one, only later.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

__all__ = ["import_great_expectations", "import_jsonschema"]

_DEFERRED = "rfc3987_syntax"
_LOCK = threading.Lock()


def import_great_expectations():
    """``import great_expectations``, the ``rfc3987_syntax`` grammar deferred to its first use.

    Returns:
        The ``great_expectations`` module.
    """
    return _import_deferring("great_expectations")


def import_jsonschema():
    """``import jsonschema``, the ``rfc3987_syntax`` grammar deferred to its first use.

    Returns:
        The ``jsonschema`` module.
    """
    return _import_deferring("jsonschema")


def _import_deferring(module: str):
    if module not in sys.modules:
        _defer(_DEFERRED)
    return importlib.import_module(module)


def _defer(name: str) -> None:
    """Put a stand-in for module ``name`` in ``sys.modules`` that imports the real one on first use."""
    with _LOCK:
        spec = None if name in sys.modules else importlib.util.find_spec(name)
        if spec is None:
            return
        stand_in = types.ModuleType(name, "stands in for the real module until it is first used")
        if spec.submodule_search_locations is not None:
            # `from pkg import name` asks for __path__ first; answering it must not load the package
            stand_in.__path__ = list(spec.submodule_search_locations)

        def real() -> types.ModuleType:
            with _LOCK:
                if sys.modules.get(name) is stand_in:
                    del sys.modules[name]
                    try:
                        importlib.import_module(name)
                    except BaseException:
                        sys.modules[name] = stand_in
                        raise
                return sys.modules[name]

        def is_valid_syntax(term, value):  # the one name jsonschema imports from it
            return real().is_valid_syntax(term, value)

        def __getattr__(attr):  # anything else (PEP 562): the real module's
            if attr.startswith("__") and attr.endswith("__"):  # import machinery's questions
                raise AttributeError(attr)
            return getattr(real(), attr)

        stand_in.is_valid_syntax = is_valid_syntax
        stand_in.__getattr__ = __getattr__
        sys.modules[name] = stand_in
