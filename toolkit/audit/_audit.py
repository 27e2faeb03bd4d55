"""One call that audits a Snapshot and returns everything the audit report shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from ..snapshot import Snapshot
from ._expectations import run_suite
from ._profile import line_numbers, profile

__all__ = ["AuditReport", "run_audit"]


@dataclass
class AuditReport:
    """The audit's findings.

    Attributes:
        source: source name.
        profile: see :func:`toolkit.audit.profile`.
        expectations: object -> results of its GX suite (see ``run_suite``).
        drift: schema drift found by the reader (missing/extra columns), per object.
    """

    source: str
    profile: dict
    expectations: dict[str, list[dict]]
    drift: dict

    def summary(self) -> dict:
        failed = [(o, r) for o, rs in self.expectations.items() for r in rs if not r["success"]]
        invalid = sum(v["count"] for o in self.profile["objects"].values() for v in o["invalid"].values())
        return {
            "source": self.source,
            "objects": len(self.profile["counts"]),
            "records": int(sum(self.profile["counts"].values())),
            "counts": self.profile["counts"],
            "expectations_run": sum(len(rs) for rs in self.expectations.values()),
            "expectations_failed": len(failed),
            "rows_failing_expectations": sum(r["unexpected_count"] for _, r in failed),
            "invalid_values": invalid,
            "duplicates": sum(len(o.get("duplicates", [])) for o in self.profile["objects"].values()),
            "broken_references": sum(len(o["broken_references"]) for o in self.profile["objects"].values()),
        }

    def failures(self) -> pd.DataFrame:
        """One row per (expectation, failing row): which rows fail which expectation."""
        rows = [{"object": o, "file": r["file"], "expectation": r["expectation"], "column": r["column"], "why": r["why"],
                 "line": f["line"], "id": f["id"], "value": f["value"]}
                for o, rs in self.expectations.items() for r in rs for f in r["failures"]]
        return pd.DataFrame(rows, columns=["object", "file", "expectation", "column", "why", "line", "id", "value"])

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "profile": self.profile, "expectations": self.expectations,
                "drift": self.drift}


def run_audit(snapshot: Snapshot, expectations_dir: str | Path) -> AuditReport:
    """Profile ``snapshot`` and run every suite in ``expectations_dir/<source>/``.

    ``expectations_dir/<source>/audit.yaml`` may say which objects hold people and which of
    their columns identify a person (for duplicate detection).
    """
    folder = Path(expectations_dir) / snapshot.source
    hints_file = folder / "audit.yaml"
    hints = yaml.safe_load(hints_file.read_text(encoding="utf-8")) if hints_file.is_file() else {}
    prof = profile(snapshot, dedupe=(hints or {}).get("dedupe"))
    results: dict[str, list[dict]] = {}
    for obj, df in snapshot.tables.items():
        suite = folder / f"{obj}.json"
        if not suite.is_file():
            continue
        schema = snapshot.schema.get(obj)
        results[obj] = run_suite(df, suite, key=schema.key if schema else df.columns[0],
                                 file=schema.file if schema else obj, lines=line_numbers(snapshot, obj))
    return AuditReport(snapshot.source, prof, results, snapshot.meta.get("drift", {}))
