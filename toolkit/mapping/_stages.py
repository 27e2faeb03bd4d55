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


def _closest_pipeline(name: str, values: list[str], pipelines: list[Pipeline]) -> tuple[Pipeline, str]:
    """The account's pipeline a route named ``name`` most likely means: the one whose stages its
    stage values match most, then the nearest name, then the first."""
    from rapidfuzz import fuzz

    def score(p: Pipeline) -> tuple[int, float]:
        names = [s.name for s in p.stages]
        return sum(1 for v in values if _match(v, names, None)[0]), fuzz.ratio(_norm(name), _norm(p.name))

    best = max(pipelines, key=score)
    hits, near = score(best)
    why = (f"{hits} of its {len(values)} stage values are stages there" if hits else
           f"the nearest name ({near:.0f}%)" if near >= 60 else "the account's first pipeline")
    return best, why


def align_stages(spec, snapshot, pipelines: list[Pipeline], *, can_create: bool = True) -> list[dict]:
    """Rewrite each route's stage map to the destination's real stages; returns the review rows.

    Every route with a ``pipeline`` rule whose pipelines exist in ``pipelines`` gets
    ``stage.maps`` (pipeline -> source stage value -> destination stage) covering every stage
    value its records hold. A pipeline the destination lacks is left as the mapping says where
    the destination creates pipelines (``can_create``); elsewhere a route that names one pipeline
    is pointed at the account's pipeline it most likely means (:func:`_closest_pipeline`), said in
    the review rows, and a value no stage matches goes to the fallback stage if that pipeline has
    one, else to its first stage: the map is complete before the load.

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
            chosen = None
            if dest is None and not can_create and pipelines and not rule.get("column"):
                wanted = [str(v) for v in values[pipes == pipe_name].dropna().unique()]
                dest, why = _closest_pipeline(pipe_name, wanted, pipelines)
                chosen = f"the account has no pipeline {pipe_name!r}: {dest.name!r}, {why}"
                rule["name"] = dest.name
                rule["proposed_name"] = pipe_name
            if dest is None:
                continue
            names = [s.name for s in dest.stages]
            if _norm(fallback) not in {_norm(n) for n in names} and not can_create and names:
                fallback = names[0]  # no review stage in this account: its first stage, listed for review
            old = per.get(pipe_name) or flat
            new: dict[str, str] = {}
            for value in sorted(values[pipes == pipe_name].dropna().unique()):
                found, how = _match(value, names, old.get(value))
                new[value] = found or fallback
                how = how if found else f"{how}: placed in {fallback!r}"
                rows.append({"route": f"{om.source} -> {om.target}", "pipeline": dest.name, "source_stage": value,
                             "destination_stage": new[value], "how": f"{chosen}; {how}" if chosen else how})
            per[dest.name] = new
            if dest.name != pipe_name:
                per[pipe_name] = new
            if chosen or fallback != st.get("fallback", fallback):
                st["fallback"] = fallback
        if per:
            st["maps"] = per
            st["read_from_destination"] = True
    return rows
