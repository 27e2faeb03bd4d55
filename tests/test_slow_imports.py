"""Great Expectations and jsonschema import without building the IRI grammar, which still works
the moment anything uses it."""

import subprocess
import sys

import pytest

pytest.importorskip("rfc3987_syntax")


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_great_expectations_imports_without_building_the_grammar():
    out = _run("import sys\n"
               "from toolkit._slow_imports import import_great_expectations\n"
               "gx = import_great_expectations()\n"
               "print(gx.__name__, 'rfc3987_syntax.syntax_helpers' in sys.modules)")
    assert out.split() == ["great_expectations", "False"]


def test_the_real_package_answers_on_first_use():
    out = _run("import sys\n"
               "from toolkit._slow_imports import import_jsonschema\n"
               "js = import_jsonschema()\n"
               "fc = js.FormatChecker()\n"
               "print(fc.conforms('http://example.com/a', 'iri'), fc.conforms('http://ex ample', 'iri'))\n"
               "import rfc3987_syntax\n"
               "print(rfc3987_syntax.is_valid_syntax_iri('http://example.org'), "
               "sys.modules['rfc3987_syntax'].__file__ is not None)\n"
               "import rfc3987_syntax.syntax_helpers as h\n"
               "print(h.is_valid_syntax('iri', 'http://example.org/x'))")
    assert out.split() == ["True", "False", "True", "True", "True"]
