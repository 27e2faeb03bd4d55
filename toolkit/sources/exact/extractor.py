"""Extract an Exact Online division into a Snapshot: resumable page by page, delta after the first time.

A *run* reads every declared stream (:mod:`._layout`) in order. The first run is full; every later
run is a delta: sync endpoints ask for ``Timestamp gt <last rowversion>``, the others for
``Modified ge <newest Modified seen>``, small definition endpoints are read whole, and
``sync/Deleted`` (last) removes records deleted since (research note exact.md §6). Each page is
committed with the link to the next one before the next is fetched (:mod:`._checkpoints`), so a run
that is killed, capped by the day's limit, or stopped by the error budget resumes where it stopped
without asking for a stored page again. The Snapshot is then built from the stored records - the
division as of the end of the run - with deletions reported in ``meta["deleted"]``.

Opportunities, tasks, events and notes have no sync endpoint, so ``sync/Deleted`` never names
them (§6). A delta therefore ends with an *ID sweep* of each of them - the regular endpoint asked
for ``$select=ID`` only, 60 ids a call - and a stored record whose id the sweep does not see is
reported deleted (``found_by: "ID sweep"``), as the research note suggests ("a periodic full ID
list"). It costs one call per 60 records of each object; the source option
``sweep_deletions: false`` turns it off, and those deletions then stay in the stored copy until a
full re-extraction (delete the state folder).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlencode

import pandas as pd

from ...errors import SourceError
from ...shapes import Snapshot
from ._api import EndpointAbsent, ExactApi
from ._checkpoints import Checkpoints, Run
from ._layout import DELETED_ENTITY_TYPES, LAYOUT_VERSION, STREAMS, Stream
from ._odata import from_odata_date

__all__ = ["Extraction", "snapshot_from", "AUTOMATION_KINDS"]

SOURCE_NAME = "exact"
AUTOMATION_KINDS = ("workflow", "reminder", "recall_rule", "email_template", "sms_template")
NO_AUTOMATIONS = ("Exact Online offers no API for workflow or email-template definitions in this division; "
                  "copy them from Exact's settings screens into the rebuild guide by hand")


@dataclass
class RunReport:
    run_id: int
    kind: str
    resumed: bool
    pages: int = 0
    calls: int = 0
    waited: float = 0.0


class Extraction:
    """Runs (or resumes) one extraction into the checkpoint store.

    Args:
        api: the :class:`~._api.ExactApi` (pacing, tokens and error budget inside).
        store: the :class:`~._checkpoints.Checkpoints`.
        division: the division number; default the user's current division (``current/Me``).
        delta: whether a read after a finished extraction fetches changes (else it serves the
            stored copy without a call).
        files_dir: where to download attachments, or None not to download them.
        max_file_bytes: attachments declaring more are listed, not downloaded.
    """

    def __init__(self, api: ExactApi, store: Checkpoints, *, division: int | None = None, delta: bool = True,
                 files_dir: Path | None = None, max_file_bytes: int = 25 * 1024 * 1024, sweep_deletions: bool = True):
        self.api, self.store, self.division, self.delta = api, store, division, delta
        self.files_dir, self.max_file_bytes, self.sweep_deletions = files_dir, max_file_bytes, sweep_deletions

    def run(self, on_page: Callable[[str, int], None] | None = None) -> RunReport | None:
        """Read until every stream is done; returns what this call did, or None with nothing to do.

        Raises:
            ExtractionPaused: the day's calls are spent (resume after ``resume_at``).
            KeyBlocked: an endpoint's error budget is spent.
            SourceError: anything else the API refused, naming the endpoint.
        """
        run = self.store.open_run(delta_allowed=self.delta)
        if run is None:
            return None
        report = RunReport(run.id, run.kind, run.resumed)
        calls0, waited0 = self.api.pacer.calls, self.api.pacer.waited
        division = self._division()
        for s in STREAMS:
            state = self.store.stream(run, s.name)
            if state.done:
                continue
            if s.optional and self.store.setting(f"absent:{s.endpoint}"):
                self.store.finish_stream(run, s.name, replace=False)
                continue
            url = state.next_url or self._first_url(s, run, division)
            mark = state.watermark
            try:
                while url:
                    body = self.api.get(url, endpoint=s.endpoint, optional=s.optional)
                    rows, nxt = _unwrap(body, s)
                    mark = _advance(s, mark, rows)
                    settings = {"pacer": self.api.pacer.state()}
                    if s.name == "deleted":
                        targets = [(DELETED_ENTITY_TYPES.get(int(r.get("EntityType") or 0), ""),
                                    str(r.get("EntityKey"))) for r in rows]
                        self.store.commit_deletions(run, s.name, url, rows, targets, nxt, mark, settings)
                    else:
                        recs = [(str(r[s.key]), {c: r.get(c) for c in s.columns}) for r in rows]
                        self.store.commit_page(run, s.name, url, recs, nxt, mark, settings, replace=s.delta == "full")
                    report.pages += 1
                    if on_page:
                        on_page(s.name, report.pages)
                    url = nxt
            except EndpointAbsent:
                # remembered for good: a 404 counts toward Exact's error limit, so never ask twice
                self.store.set_settings({f"absent:{s.endpoint}": True})
                self.store.finish_stream(run, s.name, replace=False)
            finally:
                self.store.set_settings({"pacer": self.api.pacer.state()})
        if run.kind == "delta" and self.sweep_deletions:
            for s in STREAMS:
                if s.delta == "modified" and s.table:
                    report.pages += self._sweep(run, s, division, on_page, report.pages)
        if self.files_dir is not None:
            self._download_files()
        self.store.finish_run(run)
        report.calls = self.api.pacer.calls - calls0
        report.waited = self.api.pacer.waited - waited0
        return report

    def _sweep(self, run: Run, s: Stream, division: int, on_page: Callable[[str, int], None] | None,
               pages_before: int) -> int:
        """Page through every id ``s`` still has; the store settles deletions on the last page."""
        name = f"sweep:{s.name}"
        state = self.store.stream(run, name)
        if state.done or (s.optional and self.store.setting(f"absent:{s.endpoint}")):
            return 0
        query = urlencode({"$select": s.key}, quote_via=quote, safe="$,'")
        url = state.next_url or f"{self.api.base_url}/api/v1/{division}/{s.endpoint}?{query}"
        pages = 0
        try:
            while url:
                rows, nxt = _unwrap(self.api.get(url, endpoint=s.endpoint, optional=s.optional), s)
                self.store.commit_sweep(run, name, s.name, url, [str(r[s.key]) for r in rows], nxt,
                                        {"pacer": self.api.pacer.state()})
                pages += 1
                if on_page:
                    on_page(name, pages_before + pages)
                url = nxt
        finally:
            self.store.set_settings({"pacer": self.api.pacer.state()})
        return pages

    def _division(self) -> int:
        division = self.division or self.store.setting("division")
        if not division:
            division = int(self.api.me()["CurrentDivision"])
        self.store.set_settings({"division": int(division)})
        return int(division)

    def _first_url(self, s: Stream, run: Run, division: int) -> str:
        params = {"$select": s.select}
        mark = self.store.mark(s.name) if run.kind == "delta" else None
        if s.sync:
            params["$filter"] = f"Timestamp gt {mark or 1}L"  # Int64 literal (§6)
        elif s.delta == "modified" and mark:
            params["$filter"] = f"Modified ge datetime'{mark}'"  # ge: changes within the same second
        query = urlencode(params, quote_via=quote, safe="$,'")
        return f"{self.api.base_url}/api/v1/{division}/{s.endpoint}?{query}"

    def _download_files(self) -> None:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.files_dir, 0o700)
        for rec in self.store.records("document_attachments"):
            key = f"file:{rec['ID']}"
            if self.store.setting(key) or not rec.get("Url"):
                continue
            if (rec.get("FileSize") or 0) > self.max_file_bytes:
                self.store.set_settings({key: {"skipped": f"declares {rec['FileSize']} bytes"}})
                continue
            content = self.api.download(rec["Url"])
            name = f"{rec['ID']}_{os.path.basename(str(rec.get('FileName') or 'file'))}"
            path = self.files_dir / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
            self.store.set_settings({key: {"path": name, "bytes": len(content)}})


def _unwrap(body: dict, s: Stream) -> tuple[list[dict], str | None]:
    """``d.results`` and ``d.__next``; a bare ``d`` object is one record (§4, picqer accepts both)."""
    d = body.get("d") if isinstance(body, dict) else None
    if d is None:
        raise SourceError(f"Exact Online {s.endpoint}: answer has no 'd' envelope")
    if isinstance(d, list):
        return d, None
    rows = d.get("results")
    if rows is None:
        rows = [d] if s.key in d else []
    return rows, d.get("__next")


def _advance(s: Stream, mark: str | None, rows: list[dict]) -> str | None:
    """The stream's watermark after ``rows``: the highest Timestamp, or the newest Modified."""
    if s.sync:
        stamps = [int(r["Timestamp"]) for r in rows if r.get("Timestamp") is not None]
        best = max(stamps + ([int(mark)] if mark else []), default=None)
        return str(best) if best is not None else None
    if s.delta == "modified":
        times = [t for r in rows if (t := from_odata_date(r.get("Modified") or ""))]
        newest = max(times, default=None)
        iso = newest.isoformat(timespec="seconds") if newest else None
        return max(filter(None, (mark, iso)), default=None)
    return None


# --- building the Snapshot -------------------------------------------------------------------------


def _text(value, kind: str):
    if value is None:
        return pd.NA
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (int,)):
        return str(value)
    if kind in ("date", "datetime"):
        t = from_odata_date(value)
        if t is not None:
            return t.date().isoformat() if kind == "date" else t.isoformat(timespec="seconds")
    return str(value)


def _automations(store: Checkpoints) -> list[dict]:
    out = []
    for w in store.records("workflows"):
        kind = w.get("Category") if w.get("Category") in AUTOMATION_KINDS else "workflow"
        out.append({"kind": kind, "name": w.get("Name"), "trigger": w.get("Trigger"),
                    "steps": [x for x in str(w.get("Steps") or "").splitlines() if x.strip()],
                    "body": None, "channel": None, "active": w.get("Active"), "source_id": w.get("ID")})
    for t in store.records("email_templates"):
        out.append({"kind": "email_template", "name": t.get("Name"), "trigger": None, "steps": [],
                    "body": t.get("Body"), "channel": "email", "subject": t.get("Subject"), "source_id": t.get("ID")})
    return out


def snapshot_from(store: Checkpoints, location: str, report: RunReport | None) -> Snapshot:
    """The stored division as a Snapshot (no call is made)."""
    tables, schema, newest = {}, {}, []
    for s in STREAMS:
        if not s.table:
            continue
        rows = store.records(s.name)
        frame = pd.DataFrame([[_text(r.get(c), t) for c, t in s.columns.items()] for r in rows],
                             columns=list(s.columns), dtype="object")
        tables[s.name] = frame
        schema[s.name] = s.schema()
        if s.updated and not frame.empty:
            newest.extend(v for v in frame[s.updated].dropna())
    last = store.last_finished_run()
    absent = sorted(s.endpoint for s in STREAMS if s.optional and store.setting(f"absent:{s.endpoint}"))
    automations = _automations(store)
    meta = {
        "layout_version": LAYOUT_VERSION,
        "division": store.setting("division"),
        "extraction": {"run": report.run_id if report else (last[0] if last else None),
                       "kind": report.kind if report else "stored copy (no call made)",
                       "resumed": bool(report and report.resumed), "pages": report.pages if report else 0,
                       "calls": report.calls if report else 0,
                       "waited_seconds": round(report.waited, 1) if report else 0.0},
        "deleted": [d for d in store.deletions(report.run_id)] if report else [],
        "deleted_total": len(store.deletions()),
        "watermarks": {s.name: store.mark(s.name) for s in STREAMS if store.mark(s.name)},
        "free_fields": [{"entity": f.get("Entity"), "field": f.get("Field"), "label": f.get("Label"),
                         "type": f.get("DataType")} for f in store.records("free_fields")],
        "automations": automations,
        "absent_endpoints": absent,
    }
    if not automations:
        meta["automations_note"] = NO_AUTOMATIONS
    finished = dt.datetime.fromtimestamp(last[2], dt.timezone.utc) if last else dt.datetime.now(dt.timezone.utc)
    return Snapshot(source=SOURCE_NAME, tables=tables, schema=schema, extracted_at=finished,
                    watermark=max(newest) if newest else None, location=location, meta=meta)
