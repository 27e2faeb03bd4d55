"""The data-quality audit: profiling plus the Great Expectations suites of ``expectations/``."""

from ._audit import AuditReport, run_audit
from ._expectations import preload_great_expectations
from ._gx_project import GX_FOLDER, build_data_docs, gx_context, register_checkpoints, run_checkpoints, save_results
from ._profile import line_numbers, profile

__all__ = ["AuditReport", "GX_FOLDER", "build_data_docs", "gx_context", "line_numbers", "preload_great_expectations",
           "profile", "register_checkpoints", "run_audit", "run_checkpoints", "save_results"]
