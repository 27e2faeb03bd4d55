"""The v2 search endpoints for persons, organizations, deals and leads (§3 "Search (dedupe)").

``term`` needs 2 characters, or 1 with ``exact_match`` (case-insensitive full match); otherwise
a case-insensitive substring match. ``fields`` narrows where to look; custom fields are searched
only for the searchable types (searchPersons ``fields`` description). Results come as
``{items: [{result_score, item}]}`` with cursor pagination. The Search API has its own burst
limit, applied in :mod:`.app`.
"""

from __future__ import annotations

from typing import Any, Callable

from .fields import SEARCHABLE_TYPES
from .state import ApiError, page_v2

__all__ = ["search"]

#: entity -> (store attribute, custom-field entity, searchable standard fields)
_ENTITIES = {
    "persons": ("persons", "person", ("name", "email", "phone", "notes", "custom_fields")),
    "organizations": ("organizations", "organization", ("name", "address", "notes", "custom_fields")),
    "deals": ("deals", "deal", ("title", "notes", "custom_fields")),
    "leads": ("leads", "deal", ("title", "notes", "custom_fields")),
}


def _as_text(v: Any) -> str | None:
    if isinstance(v, dict):
        v = v.get("value")
    if v is None or isinstance(v, (list, bool)):
        return None
    return str(v)


def _values(state, entity: str, rec: dict, field: str) -> list[str]:
    if field == "name":
        return [rec.get("name") or ""]
    if field == "title":
        return [rec.get("title") or ""]
    if field == "email":
        return [e.get("value", "") for e in rec.get("emails") or []]
    if field == "phone":
        return [p.get("value", "") for p in rec.get("phones") or []]
    if field == "address":
        return [_as_text(rec.get("address")) or ""]
    if field == "notes":
        return [n.get("content", "") for n in state.notes.values()
                if n.get({"persons": "person_id", "organizations": "org_id", "deals": "deal_id",
                          "leads": "lead_id"}[entity]) == rec["id"]]
    return []


def _custom_values(state, cf_entity: str, rec: dict) -> list[str]:
    out = []
    for code, v in rec.get("custom", {}).items():
        f = state.fields[cf_entity].get(code)
        if f is not None and f["field_type"] in SEARCHABLE_TYPES:
            text = _as_text(v)
            if text is not None:
                out.append(text)
    return out


def _matcher(term: str, exact: bool) -> Callable[[str], float]:
    low = term.lower()

    def score(value: str) -> float:
        v = (value or "").lower()
        if exact:
            return 1.0 if v == low else 0.0
        if v == low:
            return 1.0
        return 0.5 if low in v else 0.0
    return score


def search(state, entity: str, query: dict) -> tuple[dict, dict]:
    """Run one search; returns (data, additional_data).

    Raises:
        ApiError: a term that is too short, or a ``fields`` value the endpoint does not know.
    """
    store_name, cf_entity, allowed = _ENTITIES[entity]
    term = query.get("term") or ""
    exact = str(query.get("exact_match", "false")).lower() == "true"
    if len(term) < (1 if exact else 2):
        raise ApiError(400, "term must be at least 2 characters long (1 with exact_match)")
    fields = [f.strip() for f in (query.get("fields") or ",".join(allowed)).split(",") if f.strip()]
    bad = [f for f in fields if f not in allowed]
    if bad:
        raise ApiError(400, f"fields: {', '.join(bad)} cannot be searched on {entity} (allowed: {', '.join(allowed)})")
    score = _matcher(term, exact)
    filters = {k: int(query[k]) for k in ("organization_id", "person_id") if query.get(k)}
    with state.lock:
        hits = []
        for rec in getattr(state, store_name).values():
            if rec.get("is_deleted") or rec.get("is_archived") and entity == "leads":
                continue
            if "organization_id" in filters and rec.get("org_id", rec.get("organization_id")) != filters["organization_id"]:
                continue
            if "person_id" in filters and rec.get("person_id") != filters["person_id"]:
                continue
            best, matched_custom = 0.0, []
            for f in fields:
                if f == "custom_fields":
                    for v in _custom_values(state, cf_entity, rec):
                        s = score(v)
                        if s:
                            matched_custom.append(v)
                            best = max(best, s)
                else:
                    best = max([best] + [score(v) for v in _values(state, entity, rec, f)])
            if best:
                hits.append((best, rec, matched_custom))
        hits.sort(key=lambda h: (-h[0], str(h[1]["id"])))
        items = [{"result_score": round(s, 4), "item": _item(state, entity, rec, custom)} for s, rec, custom in hits]
    chunk, extra = page_v2(items, query)
    return {"items": chunk}, extra


def _item(state, entity: str, rec: dict, custom: list[str]) -> dict:
    owner = {"id": rec["owner_id"]} if rec.get("owner_id") is not None else None
    org_id = rec.get("org_id", rec.get("organization_id"))
    org = state.organizations.get(org_id) if org_id is not None else None
    person = state.persons.get(rec.get("person_id")) if rec.get("person_id") is not None else None
    base: dict[str, Any] = {"id": rec["id"], "type": {"persons": "person", "organizations": "organization",
                                                       "deals": "deal", "leads": "lead"}[entity],
                            "visible_to": int(rec.get("visible_to") or 3), "custom_fields": custom, "notes": []}
    if owner:
        base["owner"] = owner
    if entity == "persons":
        base.update(name=rec.get("name") or "", phones=[p["value"] for p in rec.get("phones") or []],
                    emails=[e["value"] for e in rec.get("emails") or []])
        if org:
            base["organization"] = {"id": org["id"], "name": org.get("name", "")}
    elif entity == "organizations":
        base["name"] = rec.get("name") or ""
        if _as_text(rec.get("address")):
            base["address"] = _as_text(rec.get("address"))
    else:
        base.update(title=rec.get("title") or "", is_archived=bool(rec.get("is_archived")))
        value = rec.get("value")
        if entity == "deals":
            stage = state.stages.get(rec.get("stage_id"))
            base.update(value=int(value or 0), currency=rec.get("currency"), status=rec.get("status"),
                        stage={"id": stage["id"], "name": stage["name"]} if stage else None,
                        person={"id": person["id"], "name": person.get("name", "")} if person else None,
                        organization={"id": org["id"], "name": org.get("name", "")} if org else None)
        else:
            if isinstance(value, dict):
                base.update(value=int(value["amount"]), currency=value["currency"])
            if person:
                base["person"] = {"id": person["id"], "name": person.get("name", "")}
            if org:
                base["organization"] = {"id": org["id"], "name": org.get("name", "")}
            base.update(phones=[], emails=[])
    return {k: v for k, v in base.items() if v is not None or k in ("person", "organization")}
