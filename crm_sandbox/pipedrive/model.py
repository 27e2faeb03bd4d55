"""The whole company's state: core, fields, records and activities together, plus listing.

List filters and sorting follow the spec's query parameters (getPersons, getDeals, getActivities,
getNotes, getLeads, getFiles); pagination is the vendor's own per version (§7).
"""

from __future__ import annotations

import copy
from typing import Any

from .activities import ActivitiesMixin
from .fields import FieldsMixin
from .records import RecordsMixin
from .state import ApiError, CoreState, page_v1, page_v2

__all__ = ["State"]


def _int(query: dict, key: str) -> int | None:
    raw = query.get(key)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"{key} must be an integer") from None


def _sorted(items: list[dict], query: dict, default: str = "id") -> list[dict]:
    key = query.get("sort_by") or default
    reverse = (query.get("sort_direction") or "asc") == "desc"
    return sorted(items, key=lambda r: (r.get(key) is None, r.get(key) or 0 if key == "id" else str(r.get(key) or "")),
                  reverse=reverse)


class State(ActivitiesMixin, RecordsMixin, FieldsMixin, CoreState):
    """One Pipedrive company. All public methods are thread-safe (one re-entrant lock)."""

    def __init__(self, seed: dict, company_domain: str, rng_seed: int = 0):
        super().__init__(seed, company_domain, rng_seed)
        self._init_fields()
        self._init_records()
        self._init_activities()

    # --- dump and reset ---------------------------------------------------------------------
    def dump(self) -> dict:
        """The whole company as JSON-able data, records rendered as the API returns them."""
        with self.lock:
            return copy.deepcopy({
                "company": self.company,
                "users": [self.render_user(u) for u in self.users],
                "activity_types": list(self.activity_types.values()),
                "pipelines": list(self.pipelines.values()),
                "stages": list(self.stages.values()),
                "fields": {e: self.list_fields(e) for e in self.fields},
                "lead_labels": self.lead_labels,
                "persons": [self.render_person(p) for p in self.persons.values()],
                "organizations": [self.render_org(o) for o in self.organizations.values()],
                "deals": [self.render_deal(d) for d in self.deals.values()],
                "leads": [self.render_lead(x) for x in self.leads.values()],
                "activities": list(self.activities.values()),
                "notes": [self.render_note(n) for n in self.notes.values()],
                "files": [self.render_file(f) for f in self.files.values()],
            })

    def reset(self) -> None:
        """Drop records and custom fields; keep users, pipelines, stages and activity types."""
        with self.lock:
            for entity in self.fields:
                for code in [c for c, f in self.fields[entity].items() if f["is_custom_field"]]:
                    del self.fields[entity][code]
            self._init_records()
            self._init_activities()

    # --- v2 lists ---------------------------------------------------------------------------
    def _v2_list(self, store: dict, render, query: dict, filters: dict[str, Any], *, custom: bool = True):
        ids = {int(i) for i in (query.get("ids") or "").split(",") if i.strip().isdigit()}
        if len(ids) > 100:
            raise ApiError(400, "ids accepts at most 100 ids")
        rows = []
        for rec in store.values():
            if rec.get("is_deleted") and filters.get("status") != "deleted":
                continue
            if ids and rec["id"] not in ids:
                continue
            if any(v is not None and rec.get(k) != v for k, v in filters.items()):
                continue
            rows.append(rec)
        rows = _sorted(rows, query)
        chunk, extra = page_v2(rows, query)
        only = query.get("custom_fields") if custom else None
        if only and len(only.split(",")) > 15:
            raise ApiError(400, "custom_fields accepts at most 15 keys")
        return [render(r, only) if custom else render(r) for r in chunk], extra

    def list_persons(self, q: dict):
        with self.lock:
            return self._v2_list(self.persons, self.render_person, q,
                                 {"owner_id": _int(q, "owner_id"), "org_id": _int(q, "org_id")})

    def list_organizations(self, q: dict):
        with self.lock:
            return self._v2_list(self.organizations, self.render_org, q, {"owner_id": _int(q, "owner_id")})

    def list_deals(self, q: dict):
        """getDeals: archived deals are left out (they have their own endpoint, §3)."""
        with self.lock:
            live = {k: d for k, d in self.deals.items() if not d.get("is_archived")}
            return self._v2_list(live, self.render_deal, q, {
                "owner_id": _int(q, "owner_id"), "person_id": _int(q, "person_id"), "org_id": _int(q, "org_id"),
                "pipeline_id": _int(q, "pipeline_id"), "stage_id": _int(q, "stage_id"), "status": q.get("status")})

    def list_activities(self, q: dict):
        with self.lock:
            done = q.get("done")
            return self._v2_list(self.activities, lambda a: {k: v for k, v in a.items() if v is not None}, q, {
                "owner_id": _int(q, "owner_id"), "deal_id": _int(q, "deal_id"), "person_id": _int(q, "person_id"),
                "org_id": _int(q, "org_id"), "lead_id": q.get("lead_id"),
                "done": None if done is None else done == "true"}, custom=False)

    def list_pipelines(self, q: dict):
        with self.lock:
            return page_v2(_sorted(self.live_pipelines(), q), q)

    def list_stages(self, q: dict):
        with self.lock:
            return page_v2(_sorted(self.live_stages(_int(q, "pipeline_id")), q), q)

    def list_fields_page(self, entity: str, q: dict):
        with self.lock:
            return page_v2(self.list_fields(entity), q)

    # --- v1 lists ---------------------------------------------------------------------------
    def list_leads(self, q: dict):
        """getLeads: archived leads are not returned (§5 Leads); flat pagination as the spec declares."""
        with self.lock:
            rows = [x for x in self.leads.values() if not x["is_archived"]
                    and all(v is None or x.get(k) == v for k, v in (
                        ("owner_id", _int(q, "owner_id")), ("person_id", _int(q, "person_id")),
                        ("organization_id", _int(q, "organization_id"))))]
            rows.sort(key=lambda x: str(x.get(q.get("sort") or "add_time") or ""))
            chunk, extra = page_v1(rows, q, nested=False)
            return [self.render_lead(x) for x in chunk], extra

    def list_notes(self, q: dict):
        with self.lock:
            filters = {k: (q.get(k) if k == "lead_id" else _int(q, k))
                       for k in ("user_id", "lead_id", "deal_id", "person_id", "org_id", "project_id", "task_id")}
            rows = [n for n in self.notes.values() if all(v is None or n.get(k) == v for k, v in filters.items())]
            chunk, extra = page_v1(sorted(rows, key=lambda n: n["id"]), q)
            return [self.render_note(n) for n in chunk], extra

    def list_files(self, q: dict):
        with self.lock:
            rows = [f for f in self.files.values() if f["active_flag"]]
            chunk, extra = page_v1(sorted(rows, key=lambda f: f["id"]), q)
            return [self.render_file(f) for f in chunk], extra

    def lead_fields(self) -> list[dict]:
        """getLeadFields: the lead's own fields, then the deal custom fields leads share (§4, §10)."""
        with self.lock:
            own = [{"field_name": "Title", "field_code": "title", "field_type": "varchar", "options": None,
                    "is_custom_field": False, "id": None, "add_time": "2020-01-01 00:00:00"},
                   {"field_name": "Owner", "field_code": "owner_id", "field_type": "user", "options": None,
                    "is_custom_field": False, "id": None, "add_time": "2020-01-01 00:00:00"},
                   {"field_name": "Value", "field_code": "value", "field_type": "monetary", "options": None,
                    "is_custom_field": False, "id": None, "add_time": "2020-01-01 00:00:00"}]
            custom = [f for f in self.fields["deal"].values() if f["is_custom_field"]]
            return [self.v1_field("deal", f, i) for i, f in enumerate(own + custom, start=1)]
