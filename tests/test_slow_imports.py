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


def test_scipy_stats_and_altair_wait_until_an_expectation_uses_them():
    out = _run("import sys\n"
               "from toolkit._slow_imports import import_great_expectations\n"
               "gx = import_great_expectations()\n"
               "print(any(m in sys.modules for m in ('scipy.stats', 'altair')))\n"
               "from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl\n"
               "from great_expectations.expectations.metrics.column_aggregate_metrics import "
               "column_parameterized_distribution_ks_test_p_value as ks\n"
               "print(round(float(kl.stats.entropy([0.5, 0.5], [0.9, 0.1])), 6))\n"
               "print(ks.stats.kstest([0.1, 0.4, 0.7], 'uniform').pvalue > 0.5)\n"
               "print(kl.alt.Chart.__module__.startswith('altair.'))\n"
               "import scipy.stats, altair, scipy\n"
               "print(scipy.stats.__file__.endswith('__init__.py'), hasattr(altair, '__file__'), "
               "scipy.stats is sys.modules['scipy.stats'])")
    assert out.split() == ["False", "0.510826", "True", "True", "True", "True", "True"]


def test_a_package_imported_before_is_the_one_gx_gets():
    out = _run("import sys, scipy.stats\n"
               "real = sys.modules['scipy.stats']\n"
               "from toolkit._slow_imports import import_great_expectations\n"
               "import_great_expectations()\n"
               "from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl\n"
               "print(kl.stats is real, 'altair' in sys.modules)")
    assert out.split() == ["True", "False"]
