"""Stage maps built from the destination's own pipelines, value by value.

A template cannot know how an account names its stages ("Consult" where the practice system
says "Consultation", "Declined" for "Lost"). When the mapping step can read the account, every
stage value the export holds is matched to a stage of the pipeline its record goes to: the
template's own choice when that stage exists there, else the same name, else a known synonym,
else a close spelling. What matches nothing is listed for review and goes to the fallback stage;
nothing is left to be refused by the CRM at load time. Pure: the pipelines are handed in.
"""

from __future__ import annotations

import re

import pandas as pd

from ..shapes import Pipeline

__all__ = ["align_stages", "STAGE_SYNONYMS"]

#: stage words a practice system and a CRM use for the same step of a case
STAGE_SYNONYMS = (
    {"consultation", "consult", "consultation booked", "new enquiry", "enquiry"},
    {"treatment presented", "treatment planned", "treatment plan sent", "presented", "proposed"},
    {"accepted", "plan accepted", "scheduled", "scaling scheduled"},
    {"in treatment", "in progress", "partially completed", "retention"},
    {"completed", "complete", "won", "closed won", "maintenance", "done"},
    {"lost", "declined", "closed lost", "cancelled", "rejected"},
)


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(s).lower()).strip()


def _match(value: str, stages: list[str], preferred: str | None) -> tuple[str | None, str]:
    """The destination stage for one source stage value, and how it was found."""
    by_norm = {_norm(s): s for s in stages}
    if preferred and _norm(preferred) in by_norm:
        return by_norm[_norm(preferred)], "the mapping's choice"
    if _norm(value) in by_norm:
        return by_norm[_norm(value)], "same name"
    from rapidfuzz import fuzz, process

    for group in STAGE_SYNONYMS:
        if _norm(value) in group or (preferred and _norm(preferred) in group):
            hits = [n for n in by_norm if n in group]
            if hits:  # the stage of the group whose name is nearest the value's
                return by_norm[max(hits, key=lambda n: fuzz.ratio(n, _norm(value)))], "synonym"

    best = process.extractOne(_norm(value), list(by_norm), scorer=fuzz.ratio, score_cutoff=85)
    if best:
        return by_norm[best[0]], f"close spelling ({best[1]:.0f}%)"
    return None, "no stage of this pipeline matches"


def align_stages(spec, snapshot, pipelines: list[Pipeline]) -> list[dict]:
    """Rewrite each route's stage map to the destination's real stages; returns the review rows.

    Every route with a ``pipeline`` rule whose pipelines exist in ``pipelines`` gets
    ``stage.maps`` (pipeline -> source stage value -> destination stage) covering every stage
    value its records hold. A pipeline the destination lacks is left as the mapping says (a
    destination that creates pipelines makes it; others refuse the load, naming it).

    Returns:
        One row per (route, pipeline, source stage): ``{route, pipeline, source_stage,
        destination_stage, how}``; ``destination_stage`` is the fallback where nothing matched.
    """
    have = {_norm(p.name): p for p in pipelines}
    rows: list[dict] = []
    for om in spec.objects:
        rule = om.pipeline
        if not rule or not (rule.get("stage") or {}).get("column") or om.source not in snapshot.tables:
            continue
        df = snapshot.tables[om.source]
        st = rule["stage"]
        if st["column"] not in df.columns:
            continue
        fallback = st.get("fallback", "Unmapped — Review Required")
        if rule.get("column") and rule["column"] in df.columns:
            pmap = rule.get("map") or {}
            raw = df[rule["column"]].astype("string").str.strip()
            pipes = raw.map(lambda v: pmap.get(v, v) if isinstance(v, str) and v else rule.get("name", ""))
        else:
            pipes = pd.Series(rule.get("name", ""), index=df.index)
        flat, per = st.get("map") or {}, dict(st.get("maps") or {})
        values = df[st["column"]].astype("string").str.strip()
        for pipe_name in sorted({p for p in pipes.dropna().unique() if p}):
            dest = have.get(_norm(pipe_name))
            if dest is None:
                continue
            names = [s.name for s in dest.stages]
            old = per.get(pipe_name) or flat
            new: dict[str, str] = {}
            for value in sorted(values[pipes == pipe_name].dropna().unique()):
                found, how = _match(value, names, old.get(value))
                new[value] = found or fallback
                rows.append({"route": f"{om.source} -> {om.target}", "pipeline": dest.name, "source_stage": value,
                             "destination_stage": new[value], "how": how if found else f"{how}: placed in {fallback!r}"})
            per[dest.name] = new
            if dest.name != pipe_name:
                per[pipe_name] = new
        if per:
            st["maps"] = per
            st["read_from_destination"] = True
    return rows
