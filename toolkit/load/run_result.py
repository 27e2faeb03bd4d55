"""What a load run did: counts per fate, retries, files kept as links, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["RunResult", "took"]


def took(seconds: float) -> str:
    """A duration as people say it: ``41 s``, ``6 min 51 s``, ``2 h 05 min``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


@dataclass
class RunResult:
    """What a run did.

    Attributes:
        counts: fate (created, updated, unchanged, skipped, error) -> records.
        retries: kind of transient failure (429, 5xx, connection) -> retries made.
        files_as_links: files kept as a link instead of uploaded, one dict each.
        resume_at: when a run paused on the daily quota may resume (ISO 8601).
        set_aside: of the ``error`` count, the source rows the reader set aside as malformed (too
            few or too many fields, an undecodable byte): the audit named them by file and line
            before the load, and no run can load them until the export is mended.
    """

    run_id: str
    mode: str
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0
    retries: dict[str, int] = field(default_factory=dict)
    files_as_links: list[dict] = field(default_factory=list)
    resume_at: str | None = None
    set_aside: int = 0

    def add(self, fate: str, n: int = 1) -> None:
        self.counts[fate] = self.counts.get(fate, 0) + n

    @property
    def ok(self) -> bool:
        """Finished with no record errored (rows set aside as malformed before the load aside)."""
        return self.status == "finished" and self.counts.get("error", 0) <= self.set_aside

    def summary(self) -> dict:
        """The run's figures for a report's summary cards."""
        c = self.counts
        # CRM writes, named apart from source records (one patient can become several CRM records)
        return {"status": self.status, "CRM records created": c.get("created", 0),
                "CRM records updated": c.get("updated", 0), "unchanged": c.get("unchanged", 0),
                "writes skipped": c.get("skipped", 0), "writes errored": c.get("error", 0),
                "retries": sum(self.retries.values()), "files kept as links": len(self.files_as_links),
                "took": took(self.seconds)}

    def headline(self) -> str:
        """One sentence saying how the run ended and what to do next, if anything."""
        c = self.counts
        done = f"{c.get('created', 0):,} CRM records created, {c.get('updated', 0):,} updated"
        if self.status == "paused":
            return f"Paused: {self.message}"
        if self.status != "finished":
            return f"The {self.mode} run did not finish ({self.status}): {self.message}; run it again to resume"
        aside = (f"; {self.set_aside:,} source rows were set aside as malformed in the export (named by file and "
                 "line in the audit and with the load's outcomes)") if self.set_aside else ""
        if c.get("error", 0) > self.set_aside:
            return (f"The {self.mode} run finished ({done}); {c['error'] - self.set_aside:,} writes errored: the "
                    f"source records in error and their reasons are listed with the load's outcomes{aside}")
        return f"The {self.mode} run finished: {done}, no write errored{aside}"

    def files_table(self) -> pd.DataFrame:
        """Files kept as a link instead of uploaded, one row each."""
        return pd.DataFrame(self.files_as_links, columns=["source_object", "source_key", "file", "bytes", "limit",
                                                          "kept_on", "field"])
