"""Verification: the field-level diff of a sample (from the planned records) and the
reconciliation of a load against the destination read back."""

from .field_diff import VERDICTS, diff_sample
from .reconciliation import Reconciliation, reconcile_run

__all__ = ["VERDICTS", "Reconciliation", "diff_sample", "reconcile_run"]
