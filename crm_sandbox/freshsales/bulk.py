"""Listing, searching, upserts and the asynchronous bulk jobs of the Freshsales sandbox.

Functions over :class:`~.state.State` (the caller holds no lock; each takes the state's).
Pagination is ``page``/``per_page`` (default 25, max 100) with ``meta.total_pages`` and
``meta.total`` (research freshsales.md §8). Bulk upsert and bulk delete are asynchronous: the
call answers with a ``job_status_url`` and the work happens once the job's (virtual) time has
come, observable through ``GET /api/job_statuses/:id`` (§6).
"""

from __future__ import annotations

import math
from typing import Any

from .fields import ApiError
from .schemas import ENTITIES
from .state import State

__all__ = ["views", "list_view", "list_activities", "lookup", "filtered_search", "upsert", "submit_bulk_upsert",
           "submit_bulk_destroy", "job_status", "run_due_jobs", "JOB_SECONDS_PER_ITEM"]

#: virtual seconds a bulk job takes per item (the sandbox's own pace [?]; the vendor's is unknown)
JOB_SECONDS_PER_ITEM = 0.01
_VIEW_NAMES = {"contacts": ["All Contacts", "My Contacts", "All Leads"],
               "sales_accounts": ["All Accounts", "My Accounts"],
               "deals": ["All Deals", "Open Deals", "Won Deals", "Lost Deals", "My Deals"]}


def views(state: State, module: str) -> list[dict]:
    """``GET /api/<module>/filters`` (§8): saved views, the first is the default."""
    base = {"contacts": 100, "sales_accounts": 200, "deals": 300}[module]
    return [{"id": base + i, "name": n, "is_default": i == 0, "is_public": True, "model_class_name": ENTITIES[module]}
            for i, n in enumerate(_VIEW_NAMES[module])]


def _in_view(state: State, module: str, view: str, rec: dict) -> bool:
    if view.startswith("All ") and view != "All Leads":
        return True
    if view.startswith("My "):
        return rec.get("owner_id") == state.api_user()["id"]
    if view == "All Leads":
        return rec.get("lifecycle_stage_id") in state.lead_stage_ids()
    kind = next((s["forecast_type"] for s in state.stages if s["id"] == rec.get("deal_stage_id")), "open")
    return kind == view.split()[0].lower()


def _page(state: State, module: str, records: list[dict], params: dict, include: set[str] = frozenset()) -> dict:
    page, per_page = int(params.get("page", 1)), int(params.get("per_page", 25))
    key = params.get("sort", "created_at")
    reverse = params.get("sort_type", "asc") == "desc"
    # ties (and unknown sort fields) fall back to id order, so pages never overlap
    records = sorted(records, key=lambda r: r["id"])
    records.sort(key=lambda r: (r.get(key) is None, r.get(key) if r.get(key) is not None else 0), reverse=reverse)
    chunk = records[(page - 1) * per_page: page * per_page]
    return {module: [state.render(module, r, include) for r in chunk],
            "meta": {"total_pages": max(1, math.ceil(len(records) / per_page)), "total": len(records)}}


def list_view(state: State, module: str, view_id: str, params: dict) -> dict:
    """``GET /api/<module>/view/:view_id`` (§8)."""
    with state.lock:
        run_due_jobs(state)
        view = next((v for v in views(state, module) if str(v["id"]) == str(view_id)), None)
        if view is None:
            raise ApiError(404, f"View {view_id} not found")
        recs = [r for r in state.records[module].values() if _in_view(state, module, view["name"], r)]
        return _page(state, module, recs, params, _includes(params))


def _includes(params: dict) -> set[str]:
    return {p.strip() for p in str(params.get("include", "")).split(",") if p.strip()}


def list_activities(state: State, module: str, params: dict) -> dict:
    """``GET /api/tasks?filter=open|completed|overdue``, ``/api/appointments?filter=upcoming|past`` (§3)."""
    from .state import _now

    with state.lock:
        now, flt = _now(), params["filter"]
        if module == "tasks":
            def keep(r):
                return {"open": r.get("status", 0) == 0, "completed": r.get("status", 0) == 1,
                        "overdue": r.get("status", 0) == 0 and r["due_date"] < now}[flt]
        else:
            def keep(r):
                return (r["from_date"] >= now) if flt == "upcoming" else (r["from_date"] < now)
        return _page(state, module, [r for r in state.records[module].values() if keep(r)], params, _includes(params))


def _value(state: State, rec: dict, attribute: str) -> Any:
    if attribute.startswith("cf_"):
        v = rec.get("custom", {}).get(attribute)
        return state.render_time(v) if hasattr(v, "astimezone") else v
    return rec.get(attribute)


def _matches(actual: Any, wanted: Any, attribute: str) -> bool:
    if actual is None:
        return False
    if attribute in ("email", "emails"):
        return str(actual).lower() == str(wanted).lower()
    return str(actual) == str(wanted)


def lookup(state: State, q: str, field: str, entities: str) -> dict:
    """``GET /api/lookup?q=&f=&entities=`` (§3 #lookup_search [idx]); the body nests each
    entity's list under its plural twice, ``{"contacts": {"contacts": [...]}}`` [?]."""
    with state.lock:
        run_due_jobs(state)
        out = {}
        for singular in entities.split(","):
            module = next(m for m, s in ENTITIES.items() if s == singular)
            attr = "email" if field == "emails" else field
            hits = [state.render(module, r) for r in state.records[module].values() if _matches(_value(state, r, attr), q, attr)]
            out[module] = {module: hits}
        return out


def filtered_search(state: State, singular: str, body: dict) -> dict:
    """``POST /api/filtered_search/<entity>`` with ``filter_rule`` (§3 [3p]); rules are ANDed."""
    module = next(m for m, s in ENTITIES.items() if s == singular)
    with state.lock:
        run_due_jobs(state)
        recs = list(state.records[module].values())
        for rule in body["filter_rule"]:
            attr = rule["attribute"]
            wanted = rule["value"] if rule["operator"] == "is_in" else [rule["value"]]
            if not isinstance(wanted, list):
                raise ApiError(400, "filter_rule: is_in takes a list of values")
            recs = [r for r in recs if any(_matches(_value(state, r, attr), w, attr) for w in wanted)]
        return _page(state, module, recs, {"page": body.get("page", 1), "per_page": body.get("per_page", 25),
                                           "sort": "id"})


def _find_by(state: State, module: str, field: str, value: Any) -> dict | None:
    if field == "id":
        return state.records[module].get(int(value)) if str(value).isdigit() else None
    attr = "email" if field == "emails" else field
    hits = [r for r in state.records[module].values() if _matches(_value(state, r, attr), value, attr)]
    if len(hits) > 1:
        raise ApiError(400, f"unique_identifier {field}={value!r} matches {len(hits)} records")
    return hits[0] if hits else None


def _check_identifier(state: State, module: str, field: str) -> None:
    allowed = {"contacts": {"emails", "id"}, "sales_accounts": {"name", "id"}, "deals": {"id"}}[module]
    if field not in allowed and field not in state.fields.by_name(module):
        raise ApiError(400, f"unique_identifier: {field} is not a unique field of {module}")


def upsert(state: State, module: str, body: dict) -> tuple[bool, dict]:
    """``POST /api/<module>/upsert`` (§6): update the record the identifier names, else create
    it with the identifier's value filled in. Returns (created, record)."""
    (field, value), = body["unique_identifier"].items()
    data = dict(body[ENTITIES[module]])
    with state.lock:
        run_due_jobs(state)
        _check_identifier(state, module, field)
        found = _find_by(state, module, field, value)
        if found is not None:
            return False, state.update(module, found["id"], data)
        if field == "id":
            raise ApiError(404, f"{ENTITIES[module]} with id {value} not found")
        _fill_identifier(data, field, value)
        return True, state.create(module, data)


def _fill_identifier(data: dict, field: str, value: Any) -> None:
    if field.startswith("cf_"):
        data["custom_field"] = {**(data.get("custom_field") or {}), field: value}
    else:
        data.setdefault("email" if field == "emails" else field, value)


def _new_job(state: State, items: int, work) -> int:
    job_id = state.new_id()
    state.jobs[job_id] = {"id": job_id, "status": "queued", "total": items, "succeeded": 0, "failed": 0,
                          "errors": [], "_due": state.clock() + JOB_SECONDS_PER_ITEM * max(1, items),
                          "_work": work}
    return job_id


def submit_bulk_upsert(state: State, module: str, body: dict) -> int:
    """``POST /api/<module>/bulk_upsert`` (§6): queue a job; returns its id."""
    items = body[module]
    with state.lock:
        for item in items:  # an unknown identifier fails the whole call, before any job exists
            _check_identifier(state, module, next(k for k in item if k != "data"))

        def work() -> None:
            job = state.jobs[job_id]
            for i, item in enumerate(items):
                field = next(k for k in item if k != "data")
                try:
                    found = _find_by(state, module, field, item[field])
                    if found is not None:
                        state.update(module, found["id"], dict(item["data"]))
                    elif field == "id":
                        raise ApiError(404, f"{ENTITIES[module]} with id {item['id']} not found")
                    else:
                        data = dict(item["data"])
                        _fill_identifier(data, field, item[field])
                        state.create(module, data)
                    job["succeeded"] += 1
                except ApiError as e:
                    job["failed"] += 1
                    job["errors"].append({"index": i, "message": "; ".join(e.messages)})

        job_id = _new_job(state, len(items), work)
        return job_id


def submit_bulk_destroy(state: State, module: str, body: dict) -> int:
    """``POST /api/<module>/bulk_destroy`` with ``selected_ids`` (§7): queue a job [?]."""
    ids = body["selected_ids"]
    associated = bool(body.get("delete_associated_contacts_deals", False))
    with state.lock:
        def work() -> None:
            job = state.jobs[job_id]
            for i, rid in enumerate(ids):
                try:
                    state.delete(module, rid, associated=associated)
                    job["succeeded"] += 1
                except ApiError as e:
                    job["failed"] += 1
                    job["errors"].append({"index": i, "message": "; ".join(e.messages)})

        job_id = _new_job(state, len(ids), work)
        return job_id


def run_due_jobs(state: State) -> None:
    """Run every job whose time has come (called before each request and each dump)."""
    with state.lock:
        now = state.clock()
        for job in state.jobs.values():
            if job["status"] in ("queued", "in_progress") and now >= job["_due"]:
                job["_work"]()
                job["status"] = "failed" if job["total"] and job["failed"] == job["total"] else "completed"
            elif job["status"] == "queued":
                job["status"] = "in_progress"


def job_status(state: State, job_id: str) -> dict:
    with state.lock:
        run_due_jobs(state)
        try:
            job = state.jobs[int(job_id)]
        except (KeyError, ValueError):
            raise ApiError(404, f"Job {job_id} not found") from None
        return {k: v for k, v in job.items() if not k.startswith("_")}
