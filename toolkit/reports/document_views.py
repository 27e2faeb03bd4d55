"""The views of the report-only documents: the estimate, the mapping sign-off sheet, the migration
summary and the rebuild guide. Same conventions as :mod:`toolkit.reports.views` (a ``part`` per section).
"""

from __future__ import annotations

import html
import re

import pandas as pd

from . import blocks
from .charts import timeline_svg
from .display import emit, parts, show_frame, show_summary
from .load_estimate import CLEAR_CONFIDENCE, GRADES, human_duration

__all__ = ["show_estimate", "show_signoff", "show_migration_summary", "show_rebuild_guide"]

STATUS_TONES = {"confirmed": "good", "proposed": "warn", "excluded": "neutral", "ready": "good", "check": "info",
                "needs work": "bad", "translated": "good", "custom": "good", "untranslatable": "bad"}
_GRADE_TONES = {"A": "good", "B": "info", "C": "warn", "D": "bad"}
_SCORE_TONES = {"1 · low": "good", "2 · medium": "warn", "3 · high": "bad"}


# --- estimate ---------------------------------------------------------------------------------
def show_estimate(est, part: str = "all") -> None:
    """The estimate: ``summary``, ``routes`` (records and calls per object), ``limits`` (the
    destination's quota and what was assumed) and ``grade`` (the complexity factors)."""
    def summary():
        verdict = (f"About {human_duration(est.load_seconds)} of API time, spread over {est.calendar_days} "
                   f"calendar day{'s' if est.calendar_days != 1 else ''} at the daily cap; complexity "
                   f"{est.grade} ({est.grade_word})")
        figures = est.summary()
        show_summary(figures, verdict=verdict, ok=None,
                     tones={f"complexity: {est.grade_word}": _GRADE_TONES.get(est.grade, "neutral"),
                            "calendar days at the daily cap": "good" if est.calendar_days == 1 else "warn"})

    def routes():
        show_frame("records_and_calls", pd.DataFrame(est.objects))
        if est.unrouted:
            emit(blocks.note("Records no route takes (they stay in the source system unless the mapping adds a route):")
                 + blocks.bars(pd.Series(est.unrouted), unit="records", tone="warn", label="records left behind"),
                 phi=False)

    def limits():
        rows = [("sustained rate", f"{est.rate:,.2f} requests a second"),
                ("daily cap", f"{est.daily:,} {est.unit}" if est.daily else "none"),
                ("set-up calls", f"{est.setup_calls:,} (users, pipelines, custom fields)"),
                ("read-back calls", f"{est.verify_calls:,} (reconciliation)"),
                ("where the figures come from", est.quota_source)]
        show_frame("quota", pd.DataFrame(rows, columns=["limit", "value"]))
        if est.assumptions:
            emit("<ul class='cm-note'>" + "".join(f"<li>Assumed: {html.escape(a)}</li>" for a in est.assumptions)
                 + "</ul>", phi=False)

    def grade():
        rows = pd.DataFrame(est.factors)
        rows["score"] = rows["score"].map({1: "1 · low", 2: "2 · medium", 3: "3 · high"})
        show_frame("complexity_factors", rows[["factor", "value", "score", "why"]], pills={"score": _SCORE_TONES})
        scale = ", ".join(f"{letter} up to {top}" for top, letter, _ in GRADES)
        emit(blocks.note(f"Each factor scores 1 (low) to 3 (high); the grade comes from their sum ({scale}). "
                         f"Mapping clarity counts fields neither confirmed nor proposed with confidence "
                         f"≥ {CLEAR_CONFIDENCE}."), phi=False)

    parts({"summary": summary, "routes": routes, "limits": limits, "grade": grade}, part, "the estimate")


# --- sign-off sheet ----------------------------------------------------------------------------
def show_signoff(sheet, part: str = "all") -> None:
    """The mapping sign-off sheet: ``summary``, ``routes``, ``fields``, ``values`` and
    ``signature`` (lines for the practice to sign)."""
    tones = {"status": STATUS_TONES}

    def summary():
        s = sheet.summary()
        verdict = ("Ready to sign: every field is confirmed or excluded" if sheet.ready else
                   f"{s['proposed']} fields are still proposed: confirm or exclude them before the load")
        show_summary(s, verdict=verdict, ok=sheet.ready,
                     tones={"proposed": "warn" if s["proposed"] else "good", "confirmed": "good",
                            "confirmed without a name": "warn" if s["confirmed without a name"] else "neutral"})

    parts({
        "summary": summary,
        "routes": lambda: show_frame("object_routes", sheet.routes, pills=tones),
        "fields": lambda: show_frame("fields", sheet.fields, interactive=len(sheet.fields) > 25,
                                     panes=("route", "status"), pills=tones, max_rows=1000),
        "values": lambda: show_frame("value_maps", sheet.values, interactive=len(sheet.values) > 25,
                                     panes=("route", "column"), pills=tones, max_rows=1000),
        "signature": lambda: emit('<div class="cm-signature"><div>Confirmed for the practice by (name)</div>'
                                  '<div>Signature</div><div>Date</div><div>Migration consultant</div></div>', phi=False),
    }, part, "the sign-off sheet")


# --- migration summary -------------------------------------------------------------------------
def show_migration_summary(summary, part: str = "all") -> None:
    """The migration summary: ``summary``, ``throughput`` (writes over time), ``objects``,
    ``runs``, ``not_migrated``, ``owners`` (unmatched providers) and ``errors``."""
    s = summary.summary()

    def head():
        ok = s["errors"] == 0
        verdict = (f"{s['created'] + s['updated']:,} records written without an error" if ok else
                   f"{s['errors']:,} records ended in an error: the reasons are listed below")
        show_summary(s, verdict=verdict, ok=ok,
                     tones={"errors": "bad" if s["errors"] else "good", "created": "good",
                            "unmatched providers": "warn" if s["unmatched providers"] else "good"})

    def throughput():
        if not len(summary.timeline):
            emit(blocks.note("No writes recorded yet."), phi=False)
            return
        svg = timeline_svg(summary.timeline, ylabel=f"writes per {summary.bucket}", marks=summary.marks,
                           title="Destination writes over time")
        emit(f'<figure class="cm-figure" role="img" aria-label="writes over time">{svg}</figure>'
             + blocks.note(f"Peak {summary.peak_per_minute():,.0f} writes a minute; each point counts the creates, "
                           f"updates and deletions journaled in one {summary.bucket}. Dashed lines mark run starts."),
             phi=False)

    def errors():
        if not len(summary.errors):
            emit(blocks.banner("No record ended in an error", "good"), phi=False)
            return
        reasons = summary.errors["reason"].fillna("").map(lambda r: re.sub(r"\s+", " ", r))
        by_reason = reasons.value_counts().rename_axis("reason").reset_index(name="records")
        show_frame("errors_by_reason", by_reason)
        show_frame("errors", summary.errors, interactive=len(summary.errors) > 15, panes=("object",))

    def owners():
        df = summary.owners
        unmatched = df[~df["matched"].astype(bool)] if len(df) else df
        if not len(df):
            emit(blocks.note("Owner resolution has not run in this workspace."), phi=False)
        elif not len(unmatched):
            emit(blocks.banner("Every provider matched a destination user", "good"), phi=False)
        else:
            show_frame("unmatched_providers", unmatched.drop(columns=["matched"]))

    parts({"summary": head, "throughput": throughput,
           "objects": lambda: show_frame("per_object", summary.per_object),
           "runs": lambda: show_frame("runs", summary.runs, pills={"status": {"finished": "good", "paused": "warn",
                                                                              "failed": "bad", "running": "warn",
                                                                              "rolled back": "info"}}),
           "not_migrated": lambda: show_frame("not_migrated", summary.not_migrated,
                                              interactive=len(summary.not_migrated) > 25, panes=("object",)),
           "owners": owners, "errors": errors}, part, "the migration summary")


# --- rebuild guide -----------------------------------------------------------------------------
def _highlight(text: str, tokens: list[dict]) -> str:
    """The translated message as HTML, each placeholder coloured by how sure its translation is."""
    out = html.escape(text)
    for t in sorted(tokens, key=lambda t: -len(t["destination"] or t["source"])):
        tone = STATUS_TONES.get(t["status"], "neutral")
        shown = html.escape(t["destination"] or f"⟦{t['source']} — untranslatable⟧")
        out = out.replace(shown, f'<span class="cm-token cm-{tone}" title="{html.escape(t["note"] or t["status"])}">'
                                 f"{shown}</span>")
    return out


def show_rebuild_guide(guide, part: str = "all") -> None:
    """The rebuild guide: ``summary``, ``items`` (one card per automation or template, for the
    workspace's destination), ``merge_fields`` (every translation) and ``destinations`` (how
    each item fares in every destination)."""
    def summary():
        s = guide.summary()
        ready = sum(i.status == "ready" for i in guide.here)
        check = sum(i.status == "check" for i in guide.here)
        verdict = (f"{ready} of {len(guide.here)} items can be rebuilt as they are, {check} after checking a merge "
                   f"field in the field picker; {s['items needing work']} need work (untranslatable merge fields, "
                   "or SMS the destination cannot send)")
        show_summary(s, verdict=verdict if guide.here else "The export holds no automations or templates",
                     ok=not s["items needing work"] if guide.here else None,
                     tones={"untranslatable": "bad" if s["untranslatable"] else "good", "to check": "info",
                            "translated": "good", "items needing work": "bad" if s["items needing work"] else "good"})

    def items():
        cards = []
        for i in guide.here:
            steps = "".join(f"<li>{html.escape(s)}</li>" for s in i.steps)
            marks = "".join(f"<li><code>{html.escape(t['source'])}</code> → "
                            f"{blocks.pill(t['destination'] or 'untranslatable', STATUS_TONES.get(t['status'], 'neutral'))}"
                            f" {html.escape(t['note'])}</li>" for t in i.tokens if t["status"] != "translated")
            cards.append(
                f'<div class="cm-guide"><h4>{html.escape(i.name)} {blocks.pill(i.status, STATUS_TONES.get(i.status, "neutral"))}'
                f' <span class="cm-note">{html.escape(i.kind.replace("_", " "))}'
                f'{(" · " + html.escape(i.channel)) if i.channel else ""}</span></h4>'
                f'<p><strong>Where:</strong> {html.escape(i.where)}</p>'
                + (f"<p><strong>Trigger:</strong> {html.escape(i.trigger)}</p>" if i.trigger else "")
                + (f"<ol>{steps}</ol>" if steps else "")
                + (f'<div class="cm-body">{_highlight(i.translated, i.tokens)}</div>' if i.translated else "")
                + (f'<ul class="cm-note">{marks}</ul>' if marks else "") + "</div>")
        emit("".join(cards) or blocks.note("nothing to rebuild"), phi=False)

    def merge_fields():
        rows = {(t["source"], t["destination"]): t for i in guide.here for t in i.tokens}
        df = pd.DataFrame([{"source field": t["source"], "means": t["concept"] or "?",
                            guide.destination: t["destination"] or "—", "status": t["status"], "note": t["note"]}
                           for t in rows.values()])
        show_frame("merge_fields", df, pills={"status": STATUS_TONES})

    def destinations():
        table = {d: {i.name: i.status for i in items} for d, items in guide.items.items()}
        df = pd.DataFrame(table).reset_index().rename(columns={"index": "item"})
        show_frame("by_destination", df, pills={d: STATUS_TONES for d in guide.items})

    parts({"summary": summary, "items": items, "merge_fields": merge_fields, "destinations": destinations},
          part, "the rebuild guide")
