"""Contact and opportunity search for the HighLevel sandbox (pagination per research §3).

* ``POST /contacts/search``: ``page`` + ``pageLimit`` (page-based results capped at 10,000),
  or a ``searchAfter`` cursor taken from the last result; ``filters`` of
  ``{field, operator, value}`` or ``{group: AND|OR, filters: [...]}``; fields are contact
  properties or ``customFields.<fieldId>``.
* ``GET /opportunities/search``: snake_case query (``location_id``, ``pipeline_id`` …),
  ``page``/``limit`` (<= 100, default 20) and a ``meta`` block.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from .state import ApiError, State, ms_of as _ms

__all__ = ["search_contacts", "search_opportunities"]

PAGE_CAP = 10_000  # page-based search stops here; use searchAfter beyond (research §3)
_OPERATORS = {"eq", "not_eq", "contains", "not_contains", "exists", "not_exists"}


def _value_of(contact: dict, field: str) -> Any:
    if field.startswith("customFields."):
        return contact["customFields"].get(field.split(".", 1)[1])
    return contact.get(field)


def _norm(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _match(contact: dict, flt: dict) -> bool:
    if "group" in flt:
        results = [_match(contact, f) for f in flt.get("filters", [])]
        return all(results) if str(flt["group"]).upper() == "AND" else any(results)
    field, op, want = flt.get("field"), flt.get("operator", "eq"), flt.get("value")
    if not field or op not in _OPERATORS:
        raise ApiError(422, [f"filters: unsupported filter {flt} (operators: {', '.join(sorted(_OPERATORS))})"])
    have = _value_of(contact, field)
    present = have not in (None, "", [])
    if op == "exists":
        return present
    if op == "not_exists":
        return not present
    # String comparison is case-insensitive, as the vendor's search is.
    haves = [_norm(h) for h in (have if isinstance(have, list) else [have])]
    wants = [_norm(w) for w in (want if isinstance(want, list) else [want])]
    if op in ("eq", "not_eq"):
        hit = any(w in haves for w in wants)
    else:
        hit = any(isinstance(h, str) and isinstance(w, str) and w in h for h in haves for w in wants)
    return hit if op in ("eq", "contains") else not hit


def _key(c: dict) -> tuple[int, str]:
    return (_ms(c["dateAdded"]), c["id"])


def search_contacts(state: State, body: dict) -> dict:
    """Run a contacts search body (validated against our schema beforehand)."""
    state.check_location(body["locationId"])
    limit = body["pageLimit"]
    with state.lock:
        hits = [c for c in state.contacts.values() if all(_match(c, f) for f in body.get("filters") or [])]
        q = (body.get("query") or "").lower()
        if q:
            hits = [c for c in hits if any(q in str(c.get(f) or "").lower()
                                           for f in ("firstName", "lastName", "name", "email", "phone", "companyName"))]
        hits.sort(key=_key)
        total = len(hits)
        if body.get("searchAfter"):
            after = tuple(body["searchAfter"])
            page_items = [c for c in hits if _key(c) > (int(after[0]), str(after[1]))][:limit]
        else:
            page = body.get("page", 1)
            if page * limit > PAGE_CAP:
                raise ApiError(400, f"page-based search is limited to {PAGE_CAP} records; use searchAfter")
            page_items = hits[(page - 1) * limit: page * limit]
        contacts = []
        for c in page_items:
            r = state.render_contact(c)
            r["searchAfter"] = list(_key(c))
            contacts.append(r)
    return {"contacts": contacts, "total": total}


def search_opportunities(state: State, query: dict[str, str], base_url: str) -> dict:
    """Run ``GET /opportunities/search`` with its snake_case query parameters."""
    state.check_location(query.get("location_id"))
    try:
        page = int(float(query.get("page", 1)))
        limit = int(float(query.get("limit", 20)))
    except ValueError:
        raise ApiError(422, ["page and limit must be numbers"]) from None
    if limit > 100:
        raise ApiError(422, ["limit must not be greater than 100"])
    if page < 1 or limit < 1:
        raise ApiError(422, ["page and limit must not be less than 1"])
    filters = {"pipeline_id": "pipelineId", "pipeline_stage_id": "pipelineStageId", "contact_id": "contactId",
               "assigned_to": "assignedTo", "id": "id"}
    with state.lock:
        hits = list(state.opportunities.values())
        for param, attr in filters.items():
            if query.get(param):
                hits = [o for o in hits if o.get(attr) == query[param]]
        if query.get("status") and query["status"] != "all":
            hits = [o for o in hits if o.get("status") == query["status"]]
        q = (query.get("q") or "").lower()
        if q:
            hits = [o for o in hits if q in o.get("name", "").lower()]
        hits.sort(key=lambda o: (_ms(o["createdAt"]), o["id"]))
        total = len(hits)
        items = hits[(page - 1) * limit: page * limit]
        rendered = [state.render_opportunity(o) for o in items]
    meta: dict[str, Any] = {"total": total, "currentPage": page}
    if page * limit < total:
        meta["nextPage"] = page + 1
        nxt = {**query, "page": page + 1, "limit": limit}
        meta["nextPageUrl"] = f"{base_url}/opportunities/search?{urlencode(nxt)}"
    if page > 1:
        meta["prevPage"] = page - 1
    if items:
        meta["startAfter"] = _ms(items[-1]["createdAt"])
        meta["startAfterId"] = items[-1]["id"]
    return {"opportunities": rendered, "meta": meta, "aggregations": {}}
