"""Loading Great Expectations ahead of the read: the audit gets the loaded context, and a failed
load in the background is raised by the audit itself, not lost."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_the_audit_uses_what_the_preload_loaded():
    done = _run("import sys\n"
                "from toolkit.audit import preload_great_expectations\n"
                "t = preload_great_expectations()\n"
                "print(t.daemon)\n"
                "t.join(120)\n"
                "print(t.is_alive(), 'great_expectations' in sys.modules)\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "True"]


def test_a_failed_preload_is_raised_by_the_audit():
    done = _run("import sys\n"
                "sys.modules['great_expectations'] = None  # an import that fails\n"
                "from toolkit.audit import preload_great_expectations\n"
                "preload_great_expectations().join(60)\n"
                "print('preload ended quietly', flush=True)\n"
                "from toolkit.audit._expectations import load_great_expectations\n"
                "load_great_expectations()\n")
    assert "preload ended quietly" in done.stdout
    assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr and "great_expectations" in done.stderr
