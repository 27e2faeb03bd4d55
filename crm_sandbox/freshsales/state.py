"""The Freshsales sandbox's in-memory account and the vendor's business rules.

HTTP-free: :mod:`.app` turns requests into calls here and :class:`~.fields.ApiError` into the
vendor's error body. Behaviour is cited to ``shared/research/freshsales.md`` ("§n"); where the
research is silent the choice is marked ``[?]``.

Modules: ``contacts`` (leads are contacts whose lifecycle stage is a lead stage, §3 "Leads"),
``sales_accounts``, ``deals``, ``tasks``, ``appointments``, ``notes`` and ``documents``.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from .fields import ApiError, FieldRegistry, parse_timestamp
from .schemas import APPOINTMENT, CONTACT, DEAL, ENTITIES, NOTE, SALES_ACCOUNT, TASK

__all__ = ["State", "ApiError", "load_seed", "PLAN_HOURLY", "SELECTOR_FIELDS"]

DEFAULT_SEED = Path(__file__).parent / "seed.json"

#: requests per hour per account by plan (§2 [doc]); the free plan has no API
PLAN_HOURLY = {"blossom": 1000, "garden": 1000, "estate": 2000, "forest": 5000,
               "growth": 1000, "pro": 2000, "enterprise": 5000}

#: id fields checked against a selector list (§3 "Selectors"; the plural names are [?])
SELECTOR_FIELDS = {"lead_source_id": "lead_sources", "campaign_id": "campaigns", "territory_id": "territories",
                   "currency_id": "currencies", "deal_reason_id": "deal_reasons", "deal_type_id": "deal_types",
                   "deal_payment_status_id": "deal_payment_statuses", "industry_type_id": "industry_types",
                   "business_type_id": "business_types", "task_type_id": "task_types",
                   "outcome_id": "sales_activity_outcomes"}
_SHAPES = {"contacts": CONTACT, "sales_accounts": SALES_ACCOUNT, "deals": DEAL, "tasks": TASK,
           "appointments": APPOINTMENT, "notes": NOTE}
#: body keys that are not stored as plain values
_STRUCTURAL = {"custom_field", "contacts_added_list", "sales_accounts", "appointment_attendees_attributes",
               "phone_numbers"}
_TIMESTAMPS = {"due_date", "from_date", "end_date"}
_TARGET_MODULE = {"Contact": "contacts", "SalesAccount": "sales_accounts", "Deal": "deals"}
_CUSTOM_MODULES = ("contacts", "sales_accounts", "deals")


def load_seed(seed: dict | str | Path | None) -> dict:
    """The default seed with ``seed`` merged on: users are added (same id or email replaces),
    pipelines replace one of the same name or are added, account keys are merged, any other
    list replaces the default."""
    base = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
    if seed is None:
        return base
    extra = json.loads(Path(seed).read_text(encoding="utf-8")) if isinstance(seed, (str, Path)) else copy.deepcopy(seed)
    account = extra.pop("account", {})
    base["account"]["required_fields"].update(account.pop("required_fields", {}))
    base["account"].update(account)
    for u in extra.pop("users", []):
        base["users"] = [b for b in base["users"] if (u.get("id") is None or b.get("id") != u["id"])
                         and b["email"].lower() != u["email"].lower()] + [u]
    for p in extra.pop("pipelines", []):
        base["pipelines"] = [b for b in base["pipelines"] if b["name"] != p["name"]] + [p]
    base["selectors"].update(extra.pop("selectors", {}))
    base.update(extra)
    return base


def _stable_user_id(email: str) -> int:
    # Users added by a seed get ids derived from their email, so a restarted sandbox keeps them.
    return 17_000_000_000 + int(hashlib.sha256(email.lower().encode()).hexdigest()[:8], 16) % 900_000_000


def _now() -> datetime:
    return datetime.now(timezone.utc)


class State:
    """One Freshsales account. Public methods are thread-safe (one re-entrant lock).

    Args:
        domain: the bundle alias the sandbox pretends to be.
        seed: a merged seed (:func:`load_seed`).
        clock: virtual seconds, for bulk jobs that finish later.
    """

    def __init__(self, domain: str, seed: dict, clock: Callable[[], float] = lambda: 0.0):
        self.lock = threading.RLock()
        self.domain, self.clock = domain, clock
        acc = seed["account"]
        self.account = {k: copy.deepcopy(v) for k, v in acc.items()} | {"domain": domain}
        self.zone = ZoneInfo(acc.get("time_zone", "UTC"))
        ids = itertools.count(1001)
        self.users = [self._user(u) for u in seed.get("users", [])]
        self.lifecycle_stages = [{"id": next(ids), "name": n, "position": i}
                                 for i, n in enumerate(seed.get("lifecycle_stages", []), 1)]
        stage_ids = {s["name"]: s["id"] for s in self.lifecycle_stages}
        self.contact_statuses = [{"id": next(ids), "name": n, "lifecycle_stage_id": stage_ids[stage], "position": i}
                                 for stage, names in seed.get("contact_statuses", {}).items()
                                 for i, n in enumerate(names, 1)]
        self.pipelines, self.stages = [], []
        for pos, p in enumerate(seed.get("pipelines", []), 1):
            pid = next(ids)
            self.pipelines.append({"id": pid, "name": p["name"], "is_default": bool(p.get("is_default")), "position": pos})
            for spos, name in enumerate(p["stages"], 1):
                kind = "won" if name in p.get("won", []) else "lost" if name in p.get("lost", []) else "open"
                self.stages.append({"id": next(ids), "name": name, "position": spos, "deal_pipeline_id": pid,
                                    "forecast_type": kind})
        self.selectors = {name: [{"id": next(ids), "name": v, "position": i} for i, v in enumerate(values, 1)]
                          for name, values in seed.get("selectors", {}).items()}
        self._ids = itertools.count(16_000_100_001)
        self.fields = FieldRegistry(self.new_id, self.zone)
        self.records: dict[str, dict[int, dict]] = {m: {} for m in ENTITIES}
        self.documents: dict[int, dict] = {}
        self.jobs: dict[int, dict] = {}

    # --- seed, ids, dump, reset -----------------------------------------------------------
    def _user(self, u: dict) -> dict:
        first, last = u.get("firstName", u.get("first_name", "")), u.get("lastName", u.get("last_name", ""))
        return {"id": int(u.get("id") or _stable_user_id(u["email"])), "email": u["email"],
                "display_name": u.get("name") or f"{first} {last}".strip() or u["email"],
                "first_name": first, "last_name": last, "is_active": True, "role": u.get("role", "user")}

    def new_id(self) -> int:
        with self.lock:
            return next(self._ids)

    def render_time(self, moment: datetime) -> str:
        """Timestamps come back in the account's zone with its offset [?] (§12 gap)."""
        return moment.astimezone(self.zone).isoformat(timespec="seconds")

    def dump(self) -> dict:
        """The whole account as JSON-able data, records as the API renders them."""
        from .bulk import run_due_jobs

        with self.lock:
            run_due_jobs(self)
            out = {"account": self.account, "users": self.users, "lifecycle_stages": self.lifecycle_stages,
                   "contact_statuses": self.contact_statuses,
                   "pipelines": [p | {"stages": [s for s in self.stages if s["deal_pipeline_id"] == p["id"]]}
                                 for p in self.pipelines],
                   "selectors": self.selectors, "fields": {m: list(self.fields.custom[m].values()) for m in _CUSTOM_MODULES},
                   "documents": [self.render_document(d) | {"sha256": hashlib.sha256(d["content"]).hexdigest()}
                                 for d in self.documents.values()],
                   "jobs": [{k: v for k, v in j.items() if not k.startswith("_")} for j in self.jobs.values()]}
            for module in ENTITIES:
                out[module] = [self.render(module, r) for r in self.records[module].values()]
            return copy.deepcopy(out)

    def reset(self) -> None:
        """Drop records, files, jobs and custom fields; keep users, pipelines and the account."""
        with self.lock:
            for recs in self.records.values():
                recs.clear()
            self.documents.clear()
            self.jobs.clear()
            self.fields.clear()

    # --- lookups --------------------------------------------------------------------------
    def user_ids(self) -> set[int]:
        return {u["id"] for u in self.users}

    def api_user(self) -> dict:
        """The user the API key belongs to: the first admin [?] (one key per user, §1)."""
        return next((u for u in self.users if u["role"] == "admin"), self.users[0])

    def selector(self, name: str) -> list[dict]:
        tables = {"owners": self.users, "lifecycle_stages": self.lifecycle_stages, "deal_stages": self.stages,
                  "contact_statuses": self.contact_statuses, "deal_pipelines": self.pipelines, **self.selectors}
        if name not in tables:
            raise ApiError(404, f"Selector {name} not found")
        return tables[name]

    def find(self, module: str, rid: Any) -> dict:
        try:
            return self.records[module][int(rid)]
        except (KeyError, ValueError, TypeError):
            raise ApiError(404, f"{ENTITIES[module].replace('_', ' ').capitalize()} with id {rid} not found") from None

    def lead_stage_ids(self) -> set[int]:
        return {s["id"] for s in self.lifecycle_stages if "lead" in s["name"].lower()}

    # --- writing ----------------------------------------------------------------------------
    def _refs(self, module: str, rec: dict, body: dict, problems: list[str]) -> None:
        """Check every reference the body makes; problems are appended (400, as the CRM answers)."""
        def exists(m: str, rid: Any) -> bool:
            try:
                return int(rid) in self.records[m]
            except (TypeError, ValueError):
                return False

        for key, value in body.items():
            if value is None or key in _STRUCTURAL:
                continue
            if key == "owner_id" and int(value) not in self.user_ids():
                problems.append(f"owner_id: no user with id {value}")  # owners must exist
            elif key in SELECTOR_FIELDS and int(value) not in {s["id"] for s in self.selectors.get(SELECTOR_FIELDS[key], [])}:
                problems.append(f"{key}: {value} is not a value of /api/selector/{SELECTOR_FIELDS[key]}")
            elif key == "lifecycle_stage_id" and int(value) not in {s["id"] for s in self.lifecycle_stages}:
                problems.append(f"lifecycle_stage_id: {value} is not a lifecycle stage")
            elif key in ("sales_account_id", "parent_sales_account_id") and not exists("sales_accounts", value):
                problems.append(f"{key}: no sales account with id {value}")
            elif key == "parent_sales_account_id" and rec.get("id") is not None and self._is_ancestor(rec["id"], int(value)):
                problems.append("parent_sales_account_id: an account cannot be its own parent or ancestor")
            elif key in _TIMESTAMPS:
                try:
                    parse_timestamp(value, self.zone)
                except ValueError:
                    problems.append(f"{key}: {value!r} is not an ISO 8601 date-time")
        for sid in (s["id"] for s in body.get("sales_accounts") or []):
            if not exists("sales_accounts", sid):
                problems.append(f"sales_accounts: no sales account with id {sid}")
        for cid in body.get("contacts_added_list") or []:
            if not exists("contacts", cid):
                problems.append(f"contacts_added_list: no contact with id {cid}")
        for a in body.get("appointment_attendees_attributes") or []:
            ok = int(a["attendee_id"]) in self.user_ids() if a["attendee_type"] == "FdMultitenant::User" \
                else exists("contacts", a["attendee_id"])
            if not ok:
                problems.append(f"appointment_attendees_attributes: no {a['attendee_type']} with id {a['attendee_id']}")
        ttype = body.get("targetable_type", rec.get("targetable_type"))
        if ("targetable_id" in body or "targetable_type" in body) and body.get("targetable_id", rec.get("targetable_id")) is not None:
            if not exists(_TARGET_MODULE[ttype], body.get("targetable_id", rec.get("targetable_id"))):
                problems.append(f"targetable_id: no {ttype} with id {body.get('targetable_id', rec.get('targetable_id'))}")

    def _is_ancestor(self, account_id: int, candidate: int) -> bool:
        seen = set()
        while candidate is not None and candidate not in seen:
            if candidate == account_id:
                return True
            seen.add(candidate)
            candidate = self.records["sales_accounts"].get(candidate, {}).get("parent_sales_account_id")
        return False

    def _pipeline_and_stage(self, rec: dict, body: dict, problems: list[str]) -> dict:
        """Resolve deal_pipeline_id/deal_stage_id: a stage must belong to its pipeline (§3)."""
        pid = body.get("deal_pipeline_id", rec.get("deal_pipeline_id"))
        sid = body.get("deal_stage_id", rec.get("deal_stage_id") if "deal_pipeline_id" not in body else None)
        pipelines = {p["id"]: p for p in self.pipelines}
        stages = {s["id"]: s for s in self.stages}
        if sid is not None and int(sid) not in stages:
            problems.append(f"deal_stage_id: {sid} is not a deal stage")
            return {}
        if pid is not None and int(pid) not in pipelines:
            problems.append(f"deal_pipeline_id: {pid} is not a deal pipeline")
            return {}
        if pid is None:
            pid = stages[int(sid)]["deal_pipeline_id"] if sid is not None else \
                next((p["id"] for p in self.pipelines if p["is_default"]), self.pipelines[0]["id"])
        if sid is None:
            sid = min((s for s in self.stages if s["deal_pipeline_id"] == int(pid)), key=lambda s: s["position"])["id"]
        if stages[int(sid)]["deal_pipeline_id"] != int(pid):
            problems.append(f"deal_stage_id: stage {sid} does not belong to pipeline {pipelines[int(pid)]['name']}")
            return {}
        return {"deal_pipeline_id": int(pid), "deal_stage_id": int(sid)}

    def _apply(self, module: str, rec: dict, body: dict, *, creating: bool) -> None:
        """Validate ``body`` against the account, then write it into ``rec`` (all or nothing)."""
        problems: list[str] = []
        self._refs(module, rec, body, problems)
        custom: dict = {}
        if module in _CUSTOM_MODULES:
            custom, bad = self.fields.check_values(module, body.get("custom_field") or {})
            problems += bad
        plain = {k: v for k, v in body.items() if k not in _STRUCTURAL}
        for k in _TIMESTAMPS & set(plain):
            if plain[k] is not None and not any(p.startswith(k) for p in problems):
                plain[k] = parse_timestamp(plain[k], self.zone)
        for k in [k for k, v in plain.items() if k.endswith("_id") and v is not None and k != "external_id"]:
            plain[k] = int(plain[k])
        if module == "contacts":
            self._contact_rules(rec, plain, problems, creating)
        if module == "deals":
            plain |= self._pipeline_and_stage(rec, plain, problems)
        if module == "appointments":
            start, end = plain.get("from_date", rec.get("from_date")), plain.get("end_date", rec.get("end_date"))
            if isinstance(start, datetime) and isinstance(end, datetime) and end < start:
                problems.append("end_date: must not be before from_date")
        if creating or any(k in body for k in self.account["required_fields"].get(module, [])):
            merged = {**rec, **plain}
            for name in self.account["required_fields"].get(module, []):
                if merged.get(name) in (None, ""):
                    problems.append(f"{name}: can't be blank")  # admin-configurable required fields (§4)
        if module in _CUSTOM_MODULES and creating:
            merged_custom = {**rec.get("custom", {}), **custom}
            problems += [f"custom_field.{n}: can't be blank" for n in self.fields.required_custom(module)
                         if merged_custom.get(n) in (None, "")]
        if problems:
            raise ApiError(400, problems)
        rec.update(plain)
        if module in _CUSTOM_MODULES:
            rec.setdefault("custom", {}).update(custom)
        if module == "contacts" and body.get("sales_accounts"):
            primary = next((s["id"] for s in body["sales_accounts"] if s.get("is_primary")), body["sales_accounts"][0]["id"])
            rec["sales_account_id"] = int(primary)
        if "contacts_added_list" in body:
            rec["contact_ids"] = list(dict.fromkeys(int(c) for c in body["contacts_added_list"]))
        if "appointment_attendees_attributes" in body:
            rec["attendees"] = [{"id": self.new_id(), "attendee_type": a["attendee_type"],
                                 "attendee_id": int(a["attendee_id"])} for a in body["appointment_attendees_attributes"]]
        rec["updated_at"] = _now()

    def _contact_rules(self, rec: dict, plain: dict, problems: list[str], creating: bool) -> None:
        email = plain.get("email")
        if email:
            other = next((c for c in self.records["contacts"].values()
                          if c is not rec and (c.get("email") or "").lower() == email.lower()), None)
            if other is not None:  # upsert and bulk upsert key on emails, so a primary email is unique (§6)
                problems.append(f"email: a contact with the email {email} already exists (id {other['id']})")
        if creating and plain.get("lifecycle_stage_id") is None:
            default = self.account.get("default_lifecycle_stage")
            plain["lifecycle_stage_id"] = next((s["id"] for s in self.lifecycle_stages if s["name"] == default), None)
        stage = plain.get("lifecycle_stage_id", rec.get("lifecycle_stage_id"))
        status = plain.get("contact_status_id", rec.get("contact_status_id"))
        if status is not None:
            match = next((s for s in self.contact_statuses if s["id"] == int(status)), None)
            if match is None:
                problems.append(f"contact_status_id: {status} is not a contact status")
            elif match["lifecycle_stage_id"] != stage:
                if "contact_status_id" in plain:
                    problems.append(f"contact_status_id: {match['name']} is not a status of this lifecycle stage")
                else:
                    plain["contact_status_id"] = None  # a stage change drops a status of the old stage

    def create(self, module: str, body: dict) -> dict:
        with self.lock:
            rec: dict[str, Any] = {"id": None, "created_at": _now(), "custom": {}}
            self._apply(module, rec, body, creating=True)
            rec["id"] = self.new_id()
            self.records[module][rec["id"]] = rec
            return self.render(module, rec)

    def update(self, module: str, rid: Any, body: dict) -> dict:
        with self.lock:
            rec = self.find(module, rid)
            self._apply(module, rec, body, creating=False)
            return self.render(module, rec)

    def delete(self, module: str, rid: Any, *, associated: bool = False) -> None:
        """Delete a record and what hangs off it (notes, tasks, appointments, files) [?]."""
        with self.lock:
            rec = self.find(module, rid)
            del self.records[module][rec["id"]]
            ttype = {v: k for k, v in _TARGET_MODULE.items()}.get(module)
            if ttype:
                for m in ("tasks", "appointments", "notes"):
                    for oid in [o["id"] for o in self.records[m].values()
                                if o.get("targetable_type") == ttype and o.get("targetable_id") == rec["id"]]:
                        del self.records[m][oid]
                for did in [d["id"] for d in self.documents.values()
                            if d["targetable_type"] == ttype and d["targetable_id"] == rec["id"]]:
                    del self.documents[did]
            if module == "contacts":
                for deal in self.records["deals"].values():
                    deal["contact_ids"] = [c for c in deal.get("contact_ids", []) if c != rec["id"]]
            if module == "sales_accounts":
                # §7: delete_associated_contacts_deals decides whether contacts and deals go too
                for m in ("contacts", "deals"):
                    for other in list(self.records[m].values()):
                        if other.get("sales_account_id") == rec["id"]:
                            if associated:
                                self.delete(m, other["id"])
                            else:
                                other["sales_account_id"] = None
                for child in self.records["sales_accounts"].values():
                    if child.get("parent_sales_account_id") == rec["id"]:
                        child["parent_sales_account_id"] = None

    # --- rendering ----------------------------------------------------------------------------
    def render(self, module: str, rec: dict, include: set[str] = frozenset()) -> dict:
        """A record as the API returns it: every standard field (null when unset), custom values
        under ``custom_field`` with every field of the module present (§4, §5)."""
        names = [k for k in _SHAPES[module]["properties"] if k not in _STRUCTURAL]
        out: dict[str, Any] = {"id": rec["id"]}
        for k in names:
            v = rec.get(k)
            out[k] = self.render_time(v) if isinstance(v, datetime) else v
        if module in _CUSTOM_MODULES:
            out["custom_field"] = self.fields.render(module, rec.get("custom", {}), self.render_time)
        if module == "contacts":
            out["display_name"] = " ".join(x for x in (rec.get("first_name"), rec.get("last_name")) if x) or rec.get("email") or ""
            out["emails"] = [{"value": rec["email"], "is_primary": True, "label": None}] if rec.get("email") else []
            out |= {"is_deleted": False, "lead_score": 0}
        if module == "deals":
            out["contact_ids"] = list(rec.get("contact_ids", []))
        if module == "tasks":
            out["status"] = rec.get("status", 0)
        if module == "appointments" and "appointment_attendees" in include:
            out["appointment_attendees"] = [dict(a) for a in rec.get("attendees", [])]
        out["created_at"] = self.render_time(rec["created_at"])
        out["updated_at"] = self.render_time(rec["updated_at"])
        return out

    def render_document(self, d: dict) -> dict:
        return {k: v for k, v in d.items() if k != "content"} | {"created_at": self.render_time(d["created_at"])}

    def get(self, module: str, rid: Any, include: set[str]) -> dict:
        """``{root: record}`` plus side-loaded notes when ``include=notes`` [?] (§3 "Notes")."""
        with self.lock:
            rec = self.find(module, rid)
            out = {ENTITIES[module]: self.render(module, rec, include)}
            ttype = {v: k for k, v in _TARGET_MODULE.items()}.get(module)
            if "notes" in include and ttype:
                out["notes"] = [self.render("notes", n) for n in self.records["notes"].values()
                                if n["targetable_type"] == ttype and n["targetable_id"] == rec["id"]]
            return out

    # --- files ----------------------------------------------------------------------------------
    def create_document(self, form: dict[str, tuple[bytes, str | None]]) -> dict:
        """``POST /api/documents`` (multipart, §4 File [idx])."""
        with self.lock:
            content, filename = form["file"]
            ttype = form["targetable_type"][0].decode()
            target = form["targetable_id"][0].decode()
            self.find(_TARGET_MODULE[ttype], target)
            limit = int(self.account.get("max_file_mb", 25)) * 1024 * 1024
            if len(content) > limit:  # storage limits scale with the plan; the per-file cap is [?]
                raise ApiError(400, f"file: {len(content)} bytes exceeds the {limit // (1024 * 1024)} MB limit")
            name = form.get("file_name", (b"", None))[0].decode() or filename or "upload"
            shared = form.get("is_shared", (b"false", None))[0].decode().lower() == "true"
            doc = {"id": self.new_id(), "file_name": name, "file_size": len(content), "is_shared": shared,
                   "targetable_type": ttype, "targetable_id": int(target), "created_at": _now(), "content": content}
            self.documents[doc["id"]] = doc
            return self.render_document(doc)

    def documents_of(self, module: str, rid: Any) -> list[dict]:
        with self.lock:
            rec = self.find(module, rid)
            ttype = {v: k for k, v in _TARGET_MODULE.items()}[module]
            return [self.render_document(d) for d in self.documents.values()
                    if d["targetable_type"] == ttype and d["targetable_id"] == rec["id"]]
