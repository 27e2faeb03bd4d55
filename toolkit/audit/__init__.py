"""The data-quality audit: profiling plus the Great Expectations suites of ``expectations/``."""

from ._audit import AuditReport, run_audit
from ._profile import line_numbers, profile

__all__ = ["AuditReport", "line_numbers", "profile", "run_audit"]
