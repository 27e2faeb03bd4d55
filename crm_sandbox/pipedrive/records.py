"""Persons, organizations and deals (v2) and leads (v1): the vendor's rules on each (§5).

Deletes of persons, organizations and deals are soft, as the vendor's are ("Marks ... as deleted.
After 30 days ... permanently deleted", §6): the record stays, flagged ``is_deleted``; lists leave
it out (deals come back with ``status=deleted``). Leads are deleted outright (deleteLead).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .fields import _check_date
from .state import ApiError, now_v2

__all__ = ["RecordsMixin", "DEAL_STATUSES"]

#: addDeal status (§5 Deals: "open | won | lost | deleted")
DEAL_STATUSES = {"open", "won", "lost", "deleted"}
#: person properties written only when the company has Contact Sync (§5 Persons, [3p] 403)
_CONTACT_SYNC = ("postal_address", "notes", "im", "birthday", "job_title")
_VISIBLE_TO = {1, 3, 5, 7}


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _rfc3339(value: Any, field: str) -> str:
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"{field} must be an RFC 3339 date-time") from None
    return str(value)


def _now_ms() -> str:
    """Leads are v1 but stamp times as ISO 8601 with milliseconds (getLead ``add_time`` date-time)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _name_parts(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


class RecordsMixin:
    """Persons, organizations, deals and leads (needs CoreState and FieldsMixin)."""

    def _init_records(self) -> None:
        self.persons: dict[int, dict] = {}
        self.organizations: dict[int, dict] = {}
        self.deals: dict[int, dict] = {}
        self.leads: dict[str, dict] = {}

    # --- shared checks ----------------------------------------------------------------------
    def _live(self, store: dict, rid: Any, what: str, field: str) -> dict:
        rec = store.get(rid)
        if rec is None or rec.get("is_deleted"):
            raise ApiError(400, f"{field}: {what} {rid} does not exist")
        return rec

    def _common(self, body: dict) -> None:
        self.check_user(body.get("owner_id"))
        if "visible_to" in body and body["visible_to"] not in _VISIBLE_TO:
            raise ApiError(400, f"visible_to must be one of {sorted(_VISIBLE_TO)}")

    def _find(self, store: dict, rid: Any, what: str) -> dict:
        rec = store.get(rid)
        if rec is None or rec.get("is_deleted"):
            raise ApiError(404, f"{what} not found")
        return rec

    # --- persons ----------------------------------------------------------------------------
    def _apply_person(self, p: dict, body: dict, create: bool) -> None:
        if create and not str(body.get("name") or "").strip():
            # v2 does not mark name required, v1 did; the UI cannot save a nameless person (§5 Persons)
            raise ApiError(400, "name is required")
        sync = [k for k in _CONTACT_SYNC if k in body]
        if sync and not self.company["contact_sync"]:
            raise ApiError(403, f"{', '.join(sync)} can only be set when Contact Sync is enabled for the company")
        self._common(body)
        if body.get("org_id") is not None:
            self._live(self.organizations, body["org_id"], "organization", "org_id")
        for key in ("emails", "phones"):
            items = body.get(key)
            if items is not None and sum(1 for i in items if i.get("primary")) > 1:
                raise ApiError(400, f"{key}: only one item can be primary")
        custom = self.custom_values("person", body.get("custom_fields"), p.get("custom", {}))
        if "add_time" in body:
            _rfc3339(body["add_time"], "add_time")
        for k, v in body.items():
            if k != "custom_fields":
                p[k] = v
        p["custom"] = custom
        p["update_time"] = now_v2()

    def add_person(self, body: dict) -> dict:
        with self.lock:
            p = {"id": self.next_id("person"), "owner_id": self.me, "add_time": now_v2(), "visible_to": 3,
                 "is_deleted": False, "emails": [], "phones": [], "label_ids": [], "custom": {}}
            self._apply_person(p, body, create=True)
            self.persons[p["id"]] = p
            return self.render_person(p)

    def update_person(self, pid: int, body: dict) -> dict:
        with self.lock:
            p = self._find(self.persons, pid, "Person")
            self._apply_person(p, body, create=False)
            return self.render_person(p)

    def get_person(self, pid: int, custom: str | None = None) -> dict:
        with self.lock:
            return self.render_person(self._find(self.persons, pid, "Person"), custom)

    def delete_person(self, pid: int) -> dict:
        with self.lock:
            p = self._find(self.persons, pid, "Person")
            p["is_deleted"], p["update_time"] = True, now_v2()
            return {"id": pid}

    def render_person(self, p: dict, custom: str | None = None) -> dict:
        first, last = _name_parts(p.get("name") or "")
        out = {k: v for k, v in p.items() if k != "custom"}
        out.update(first_name=first, last_name=last, custom_fields=self.render_custom("person", p["custom"], custom))
        return _drop_none(out)

    # --- organizations -----------------------------------------------------------------------
    def _apply_org(self, o: dict, body: dict) -> None:
        self._common(body)
        if "name" in body and not str(body["name"] or "").strip():
            raise ApiError(400, "name must not be empty")
        custom = self.custom_values("organization", body.get("custom_fields"), o.get("custom", {}))
        if "add_time" in body:
            _rfc3339(body["add_time"], "add_time")
        for k, v in body.items():
            if k != "custom_fields":
                o[k] = v
        o["custom"] = custom
        o["update_time"] = now_v2()

    def add_organization(self, body: dict) -> dict:
        with self.lock:
            o = {"id": self.next_id("organization"), "owner_id": self.me, "add_time": now_v2(), "visible_to": 3,
                 "is_deleted": False, "label_ids": [], "custom": {}}
            self._apply_org(o, body)
            self.organizations[o["id"]] = o
            return self.render_org(o)

    def update_organization(self, oid: int, body: dict) -> dict:
        with self.lock:
            o = self._find(self.organizations, oid, "Organization")
            self._apply_org(o, body)
            return self.render_org(o)

    def get_organization(self, oid: int, custom: str | None = None) -> dict:
        with self.lock:
            return self.render_org(self._find(self.organizations, oid, "Organization"), custom)

    def delete_organization(self, oid: int) -> dict:
        with self.lock:
            o = self._find(self.organizations, oid, "Organization")
            o["is_deleted"], o["update_time"] = True, now_v2()
            return {"id": oid}

    def render_org(self, o: dict, custom: str | None = None) -> dict:
        out = {k: v for k, v in o.items() if k != "custom"}
        out["custom_fields"] = self.render_custom("organization", o["custom"], custom)
        return _drop_none(out)

    # --- deals ------------------------------------------------------------------------------
    def _apply_deal(self, d: dict, body: dict) -> None:
        self._common(body)
        status = body.get("status", d.get("status", "open"))
        if status not in DEAL_STATUSES:
            raise ApiError(400, f"status must be one of: {', '.join(sorted(DEAL_STATUSES))}")
        if "won_time" in body and status != "won":
            raise ApiError(400, "won_time can only be set on a won deal")
        if ("lost_time" in body or body.get("lost_reason")) and status != "lost":
            raise ApiError(400, "lost_time and lost_reason can only be set on a lost deal")
        for key, store, what in (("person_id", self.persons, "person"), ("org_id", self.organizations, "organization")):
            if body.get(key) is not None:
                self._live(store, body[key], what, key)
        if "expected_close_date" in body and body["expected_close_date"] is not None \
                and not _check_date(body["expected_close_date"]):
            raise ApiError(400, "expected_close_date must be a date YYYY-MM-DD")
        stage_id, pipeline_id = body.get("stage_id"), body.get("pipeline_id")
        if stage_id is not None:
            stage = self.stages.get(stage_id)
            if stage is None or stage["is_deleted"]:
                raise ApiError(400, f"stage_id: stage {stage_id} does not exist")
            if pipeline_id is not None and stage["pipeline_id"] != pipeline_id:
                raise ApiError(400, f"stage_id: stage {stage_id} is not in pipeline {pipeline_id}")
            d["stage_id"], d["pipeline_id"] = stage_id, stage["pipeline_id"]
        elif pipeline_id is not None:
            self.get_pipeline(pipeline_id)
            if d.get("pipeline_id") != pipeline_id:
                stages = self.live_stages(pipeline_id)
                if not stages:
                    raise ApiError(400, f"pipeline_id: pipeline {pipeline_id} has no stages")
                d["stage_id"], d["pipeline_id"] = stages[0]["id"], pipeline_id
        elif "stage_id" not in d:
            first = self.first_stage()  # "stage_id wins over pipeline_id; default = first stage" (§5)
            d["stage_id"], d["pipeline_id"] = first["id"], first["pipeline_id"]
        custom = self.custom_values("deal", body.get("custom_fields"), d.get("custom", {}))
        now = now_v2()
        if status != d.get("status"):
            d["won_time"] = body.get("won_time", now) if status == "won" else None
            d["lost_time"] = body.get("lost_time", now) if status == "lost" else None
            d["close_time"] = now if status in ("won", "lost") else None
        if d.get("stage_id") != d.get("_stage_before"):
            d["stage_change_time"], d["_stage_before"] = now, d.get("stage_id")
        for k, v in body.items():
            if k not in ("custom_fields", "stage_id", "pipeline_id", "won_time", "lost_time"):
                d[k] = v
        d["status"] = status
        d["is_deleted"] = status == "deleted"
        d["custom"], d["update_time"] = custom, now

    def add_deal(self, body: dict) -> dict:
        with self.lock:
            d = {"id": self.next_id("deal"), "owner_id": self.me, "add_time": now_v2(), "visible_to": 3,
                 "value": 0, "currency": self.company["currency"], "is_archived": False, "label_ids": [],
                 "origin": "API", "custom": {}}
            self._apply_deal(d, body)
            self.deals[d["id"]] = d
            return self.render_deal(d)

    def _deal(self, did: int) -> dict:
        d = self.deals.get(did)
        if d is None:
            raise ApiError(404, "Deal not found")
        return d

    def update_deal(self, did: int, body: dict) -> dict:
        with self.lock:
            d = self._deal(did)
            if d["is_deleted"]:
                raise ApiError(404, "Deal not found")
            self._apply_deal(d, body)
            return self.render_deal(d)

    def get_deal(self, did: int, custom: str | None = None) -> dict:
        """A deleted deal stays readable (with ``status=deleted``) for its 30 days (§6)."""
        with self.lock:
            return self.render_deal(self._deal(did), custom)

    def delete_deal(self, did: int) -> dict:
        with self.lock:
            d = self._deal(did)
            if d["is_deleted"]:
                raise ApiError(404, "Deal not found")
            d["is_deleted"], d["status"], d["update_time"] = True, "deleted", now_v2()
            return {"id": did}

    def render_deal(self, d: dict, custom: str | None = None) -> dict:
        out = {k: v for k, v in d.items() if k != "custom" and not k.startswith("_")}
        out["custom_fields"] = self.render_custom("deal", d["custom"], custom)
        return _drop_none(out)

    # --- leads (v1 only, §3) ------------------------------------------------------------------
    def _apply_lead(self, lead: dict, body: dict) -> None:
        self._common({k: v for k, v in body.items() if k != "visible_to"})
        for key, store, what in (("person_id", self.persons, "person"),
                                 ("organization_id", self.organizations, "organization")):
            if body.get(key) is not None:
                self._live(store, body[key], what, key)
        person = body.get("person_id", lead.get("person_id"))
        org = body.get("organization_id", lead.get("organization_id"))
        if person is None and org is None:
            # addLead: person_id "required unless organization_id is specified" and vice versa (§5 Leads)
            raise ApiError(400, "A lead must be linked to a person or an organization: "
                                "person_id is required unless organization_id is given")
        if "title" in body and not str(body["title"] or "").strip():
            raise ApiError(400, "title must not be empty")
        known = {lab["id"] for lab in self.lead_labels}
        bad = [i for i in body.get("label_ids") or [] if i not in known]
        if bad:
            raise ApiError(400, f"label_ids: lead labels {bad} do not exist")
        given = {k: v for k, v in body.items() if k in self.v1_custom_keys("deal") and not k.endswith("_currency")}
        custom = self.custom_values("deal", given, lead.get("custom", {}), v1=True)
        for code in given:  # a v1 monetary value carries its currency beside it
            cur = body.get(f"{code}_currency")
            if cur and code in custom and isinstance(custom[code], dict):
                custom[code] = {**custom[code], "currency": cur}
        for k, v in body.items():
            if k not in given and not k.endswith("_currency"):
                lead[k] = v
        lead["custom"] = custom
        lead["update_time"] = _now_ms()

    def add_lead(self, body: dict) -> dict:
        with self.lock:
            lead = {"id": self.new_uuid(), "owner_id": self.me, "creator_id": self.me, "label_ids": [],
                    "person_id": None, "organization_id": None, "source_name": "API", "origin": "API",
                    "origin_id": None, "channel": None, "channel_id": None, "source_deal_id": None,
                    "is_archived": False, "was_seen": False, "value": None, "expected_close_date": None,
                    "next_activity_id": None, "add_time": _now_ms(), "visible_to": "3",
                    "cc_email": f"{self.company['domain']}+lead@pipedrivemail.com", "custom": {}}
            self._apply_lead(lead, body)
            self.leads[lead["id"]] = lead
            return self.render_lead(lead)

    def _lead(self, lid: str) -> dict:
        lead = self.leads.get(lid)
        if lead is None:
            raise ApiError(404, "requested lead not found", info="Object was not found.")
        return lead

    def update_lead(self, lid: str, body: dict) -> dict:
        with self.lock:
            lead = self._lead(lid)
            if lead["is_archived"] and body.get("is_archived", True):
                # archived leads are not editable since 2025-07-15 (§5 Leads)
                raise ApiError(400, "Archived leads cannot be edited")
            self._apply_lead(lead, body)
            return self.render_lead(lead)

    def get_lead(self, lid: str) -> dict:
        with self.lock:
            return self.render_lead(self._lead(lid))

    def delete_lead(self, lid: str) -> dict:
        with self.lock:
            self._lead(lid)
            del self.leads[lid]
            return {"id": lid}

    def render_lead(self, lead: dict) -> dict:
        out = {k: v for k, v in lead.items() if k != "custom"}
        out.update(self.render_custom_v1("deal", lead["custom"]))
        return out
