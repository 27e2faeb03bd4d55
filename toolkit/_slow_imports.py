"""Importing Great Expectations and jsonschema without paying for what nothing here uses.

A cold import of GX on a 2-core machine took 4–5.7 s, and most of it went to three packages that
only a few code paths ever touch:

* ``rfc3987_syntax``: importing GX imports ``jsonschema`` (for one of its metrics, and through
  ``altair``); ``jsonschema`` registers an "iri" format check when this optional package is
  installed (the notebook stack installs it, through ``jupyter-events``), and the package builds
  a Lark grammar when it is imported (1.3–1.5 s). No suite or configuration schema of ours
  checks an "iri" format.
* ``scipy.stats`` and ``altair`` (about 1.1 s together): GX imports them in three modules (two
  Kolmogorov–Smirnov metrics and the KL-divergence expectation, which also draws its chart with
  altair) and uses them only inside those expectations' functions, which no suite of ours calls.

:func:`import_great_expectations` and :func:`import_jsonschema` put a stand-in for each of them in
``sys.modules`` while they import, if nothing has imported it yet. A stand-in imports the real
package the first time anything uses it — any name looked up on it, or for ``rfc3987_syntax`` a
call of ``is_valid_syntax`` (the name ``jsonschema`` takes from it) — so every user still gets the
real package, only later. The ``rfc3987_syntax`` stand-in stays in ``sys.modules`` until its
first use; those for ``scipy.stats`` and ``altair`` are taken out again as soon as GX is imported,
so that any later ``import`` elsewhere loads the real package the ordinary way, and only the
modules GX imported in between hold a stand-in.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

__all__ = ["import_great_expectations", "import_jsonschema"]

_DEFERRED = "rfc3987_syntax"
#: deferred only while Great Expectations imports (see the module docstring)
_WHILE_IMPORTING = {"great_expectations": ("scipy.stats", "altair")}
_LOCK = threading.Lock()


def import_great_expectations():
    """``import great_expectations``, with ``rfc3987_syntax``'s grammar, ``scipy.stats`` and
    ``altair`` put off until something uses them.

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
    if module in sys.modules:  # imported, or being imported by another thread: the import lock waits
        return importlib.import_module(module)
    _defer(_DEFERRED)
    window = [(name, _defer(name)) for name in _WHILE_IMPORTING.get(module, ())]
    try:
        return importlib.import_module(module)
    finally:
        with _LOCK:
            for name, stand_in in window:
                if stand_in is not None and sys.modules.get(name) is stand_in:
                    del sys.modules[name]


def _defer(name: str) -> types.ModuleType | None:
    """Put a stand-in for module ``name`` in ``sys.modules`` that imports the real one on first
    use, and return it (None when the module is imported already or not installed)."""
    with _LOCK:
        try:
            spec = None if name in sys.modules else importlib.util.find_spec(name)
        except ModuleNotFoundError:  # a dotted name whose parent package is not installed
            spec = None
        if spec is None:
            return None
        stand_in = types.ModuleType(name, "stands in for the real module until it is first used")
        if spec.submodule_search_locations is not None:
            # `from pkg import name` asks for __path__ first; answering it must not load the package
            stand_in.__path__ = list(spec.submodule_search_locations)

        def real() -> types.ModuleType:
            with _LOCK:
                if sys.modules.get(name) is stand_in:
                    del sys.modules[name]
                    try:
                        return importlib.import_module(name)
                    except BaseException:
                        sys.modules[name] = stand_in
                        raise
            # taken out of sys.modules already (by its first use, or when GX had imported)
            return importlib.import_module(name)

        def is_valid_syntax(term, value):  # the one name jsonschema imports from it
            return real().is_valid_syntax(term, value)

        def __getattr__(attr):  # anything else (PEP 562): the real module's
            if attr.startswith("__") and attr.endswith("__"):  # import machinery's questions
                raise AttributeError(attr)
            return getattr(real(), attr)

        if name == _DEFERRED:
            stand_in.is_valid_syntax = is_valid_syntax
        stand_in.__getattr__ = __getattr__
        sys.modules[name] = stand_in
        return stand_in
