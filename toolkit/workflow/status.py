"""Where a migration stands, from the workspace alone: ``crm-migrate status WS``.

Read without a call to the destination or a read of the export, so it answers at once and
while another process writes: the steps that have run (their figures in ``WS/reports``), the
runs in the ledger with their status and counts, operations in flight (an intent with no
outcome: a writer is at work, or one was killed), source records in error, what the server last
said of the day's request budget and when it resets, and the command to run next.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

from ..file_lock import WriterLock
from ..load.ledger import Ledger
from ..mapping import MappingSpec
from ..notebook_runs import STEP_LIST
from ..workspace import Workspace

__all__ = ["WorkspaceStatus", "status"]


@dataclass
class WorkspaceStatus:
    """A workspace's state, and what to do next (``next_command`` with ``why``)."""

    workspace: str
    route: str
    practice: str
    steps: list[dict] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)
    writer: dict | None = None
    in_flight: int = 0
    errors: int = 0
    unconfirmed: int | None = None
    quota: dict | None = None
    resume_at: str | None = None
    next_command: str = ""
    why: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        """The status as a person reads it in a terminal."""
        out = [f"workspace {self.workspace}: {self.practice}, {self.route}"]
        if self.writer:
            out.append(f"  writing now: `{self.writer.get('command')}` (pid {self.writer.get('pid')}, since "
                       f"{self.writer.get('since')})")
        done = [s for s in self.steps if s["ran_at"]]
        out.append("  steps run: " + (", ".join(f"{s['step']} ({s['ran_at']})" for s in done) if done else "none"))
        if self.unconfirmed:
            out.append(f"  mapping: {self.unconfirmed} fields awaiting confirmation")
        for r in self.runs[-5:]:
            counts = ", ".join(f"{k} {v:,}" for k, v in (r.get("counts") or {}).items())
            out.append(f"  run {r['run_id']} {r['mode']}: {r['status']}"
                       + (f", {counts}" if counts else "") + (f", until {r['finished_at']}" if r.get("finished_at") else ""))
        out.append(f"  operations in flight: {self.in_flight:,}; source records in error: {self.errors:,}")
        if self.quota and self.quota.get("limit"):
            q = self.quota
            left = "unknown" if q.get("remaining") is None else f"{q['remaining']:,}"
            out.append(f"  quota: {left} of {q['limit']:,} requests per {q.get('per', 'day')} left when last seen "
                       f"({q.get('at')})" + (f"; resets {q['resets_at']}" if q.get("resets_at") else ""))
        if self.resume_at:
            out.append(f"  paused at the daily quota: resume after {self.resume_at}")
        out.append(f"next: {self.next_command}  ({self.why})")
        return out


def _ran_at(ws: Workspace, step: str) -> str | None:
    figures = ws.reports_dir / f"{step}.json"
    if not figures.is_file():
        return None
    return dt.datetime.fromtimestamp(figures.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")


def status(ws: Workspace) -> WorkspaceStatus:
    """Where ``ws`` stands and what to run next (no destination call, no export read)."""
    from ..notebook_runs import display_name

    root = str(ws.root)
    out = WorkspaceStatus(root, f"{display_name(ws.source)} → {display_name(ws.destination)}",
                          str(ws.extra.get("practice_name") or ws.root.name))
    out.steps = [{"step": s.name, "ran_at": _ran_at(ws, s.name)} for s in STEP_LIST]
    ran = {s["step"]: s["ran_at"] for s in out.steps if s["ran_at"]}
    out.writer = WriterLock(ws.root, "status").live_holder()
    if ws.mapping_path.is_file():
        out.unconfirmed = len(MappingSpec.load(ws.mapping_path).unconfirmed())
    last = None
    if ws.ledger_path.is_file():
        with Ledger(ws.ledger_path) as ledger:
            out.runs = [{"run_id": r["run_id"], "mode": r["mode"], "status": r["status"], "started_at": r["started_at"],
                         "finished_at": r["finished_at"], "counts": r["info"].get("counts") or {},
                         "resume_at": r["info"].get("resume_at")} for r in ledger.runs()]
            out.in_flight = len(ledger.pending())
            out.errors = sum(1 for fate, _ in ledger.fates().values() if fate == "error")
            quotas = [r["info"]["quota"] for r in ledger.runs() if r["info"].get("quota")]
            out.quota = quotas[-1] if quotas else None
        writes = [r for r in out.runs if r["mode"] in ("full", "delta")]
        last = writes[-1] if writes else None
    if last and last["status"] == "paused":
        out.resume_at = last["resume_at"]
    out.next_command, out.why = _next(ws, out, ran, last)
    return out


def _next(ws: Workspace, st: WorkspaceStatus, ran: dict, last: dict | None) -> tuple[str, str]:
    w = str(ws.root)
    if st.writer:
        return "wait", f"`{st.writer.get('command')}` is writing through this workspace"
    if st.resume_at:
        return f"crm-migrate migrate {w}", f"run it after {st.resume_at}, when the daily quota has reset"
    if last and last["status"] in ("interrupted", "running"):
        return (f"crm-migrate {'delta' if last['mode'] == 'delta' else 'migrate'} {w}",
                f"run {last['run_id']} stopped before the end; running it again settles what was in flight and resumes")
    if "audit" not in ran:
        return f"crm-migrate audit {w}", "the source has not been audited"
    if st.unconfirmed is None or st.unconfirmed:
        return f"crm-migrate map {w}", ("no mapping yet" if st.unconfirmed is None
                                        else f"{st.unconfirmed} mapping fields await confirmation")
    if "sample" not in ran and last is None:
        return f"crm-migrate sample {w}", "no sample has been loaded and checked field by field"
    if last is None:
        return f"crm-migrate migrate {w}", "nothing has been loaded yet"
    if "reconcile" not in ran or (last["finished_at"] and dt.datetime.fromisoformat(ran["reconcile"])
                                  < dt.datetime.fromisoformat(last["finished_at"])):
        return f"crm-migrate reconcile {w}", f"run {last['run_id']} has not been reconciled"
    figures = json.loads((ws.reports_dir / "reconcile.json").read_text(encoding="utf-8"))
    if not (figures.get("summary") or {}).get("ok"):
        first = "; ".join(figures.get("look_first") or [])
        return f"open {ws.reports_dir / 'reconcile.html'}", f"the reconciliation is not ok: {first}"
    return f"crm-migrate delta {w}", "everything reconciles; a delta carries what changed in the source since"
