"""The Pipedrive sandbox's company: users, activity types, pipelines and stages, ids, pagination.

Everything here is HTTP-free. :class:`State` is assembled from this core and the mixins in
:mod:`.fields` (custom fields), :mod:`.records` (persons, organizations, deals, leads) and
:mod:`.activities` (activities, notes, files); handlers in :mod:`.app` call its methods and turn
:class:`ApiError` into the vendor's error envelope. Behaviours cite the research note
(``shared/research/pipedrive.md``, "§n") or the vendor spec operation they come from.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["ApiError", "CoreState", "load_seed", "now_v1", "now_v2", "page_v1", "page_v2", "MAX_LIMIT",
           "ERROR_INFO"]

DEFAULT_SEED = Path(__file__).parent / "seed.json"
#: v1 and v2 list endpoints: "a maximum value of 500 is allowed" (§7)
MAX_LIMIT = 500
ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."


class ApiError(Exception):
    """A vendor error: the envelope ``{success: false, error, error_info, data, additional_data}``
    seen in the spec's examples (getLead 404) and public issues (§7)."""

    def __init__(self, status: int, message: str, info: str = ERROR_INFO, **extra: Any):
        self.status, self.message, self.info, self.extra = status, message, info, extra
        super().__init__(f"{status}: {message}")

    def body(self) -> dict:
        if self.status == 401:  # the spec's example for 401, exactly (getCurrentUser)
            return {"success": False, "error": self.message, "errorCode": 401}
        return {"success": False, "error": self.message, "error_info": self.info, "data": None,
                "additional_data": None, **self.extra}


def now_v2() -> str:
    """RFC 3339 UTC, as v2 writes timestamps (§4, "v2 is strict ... RFC 3339")."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_v1() -> str:
    """``YYYY-MM-DD HH:MM:SS`` UTC, as v1 writes timestamps (addNote ``add_time`` format)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def load_seed(seed: dict | str | Path | None) -> dict:
    """The default seed with ``seed`` (a dict or a JSON file) merged on.

    Users are added (same email replaces; HighLevel-style ``firstName``/``lastName``/``role`` keys
    are accepted so one seed serves every sandbox); pipelines replace one of the same name or are
    added; company keys are merged.
    """
    base = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
    if seed is None:
        return base
    extra = json.loads(Path(seed).read_text(encoding="utf-8")) if isinstance(seed, (str, Path)) else copy.deepcopy(seed)
    base["company"].update(extra.get("company", {}))
    for u in extra.get("users", []):
        base["users"] = [b for b in base["users"] if b["email"].lower() != u["email"].lower()] + [u]
    for p in extra.get("pipelines", []):
        base["pipelines"] = [b for b in base["pipelines"] if b["name"] != p["name"]] + [p]
    base["activity_types"] = base.get("activity_types", []) + extra.get("activity_types", [])
    return base


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, n = raw.partition(":")
        if kind != "offset" or int(n) < 0:
            raise ValueError
        return int(n)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "Invalid cursor") from None


def _limit(raw: Any, default: int = 100) -> int:
    if raw in (None, ""):
        return default
    n = int(raw)
    if n < 1 or n > MAX_LIMIT:
        raise ApiError(400, f"limit must be between 1 and {MAX_LIMIT}")
    return n


def page_v2(items: list, query: dict) -> tuple[list, dict]:
    """One cursor page (§7): ``additional_data.next_cursor`` is null on the last page."""
    start, limit = _offset(query.get("cursor")), _limit(query.get("limit"))
    chunk = items[start:start + limit]
    nxt = _cursor(start + limit) if start + limit < len(items) else None
    return chunk, {"next_cursor": nxt}


def page_v1(items: list, query: dict, *, nested: bool = True) -> tuple[list, dict]:
    """One start/limit page (§7): ``additional_data.pagination`` with ``next_start`` while more remain.

    ``nested=False`` gives the flat ``{start, limit, more_items_in_collection}`` that getLeads declares.
    """
    try:
        start = int(query.get("start") or 0)
    except ValueError:
        raise ApiError(400, "start must be an integer") from None
    limit = _limit(query.get("limit"))
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    info: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        info["next_start"] = start + limit
    if not nested:
        info.pop("next_start", None)
        return chunk, info
    return chunk, {"pagination": info}


def _key_string(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "activity"


class CoreState:
    """Company settings, users, activity types, pipelines, stages and id counters.

    Args:
        seed: the merged seed (:func:`load_seed`).
        company_domain: the company's subdomain (``<domain>.pipedrive.com``).
        rng_seed: seeds ids, lead UUIDs and custom-field keys, so runs are reproducible.
    """

    def __init__(self, seed: dict, company_domain: str, rng_seed: int = 0):
        self.lock = threading.RLock()
        self._rng = random.Random(rng_seed)
        self._counters: dict[str, int] = {}
        c = seed["company"]
        self.company = {"id": int(c.get("id", 13131313)), "name": c["name"], "domain": company_domain,
                        "country": c.get("country", "US"), "currency": c.get("currency", "USD"),
                        "contact_sync": bool(c.get("contact_sync", False))}
        self.users: dict[int, dict] = {}
        for u in seed["users"]:
            self._add_user(u)
        self.me = next(iter(self.users))  # the first user owns the token (the admin)
        self.activity_types: dict[int, dict] = {}
        for t in seed.get("activity_types_default", []) + seed.get("activity_types", []):
            self.add_activity_type({"name": t["name"], "icon_key": t.get("icon_key", t.get("key", "task"))},
                                   key=t.get("key"))
        self.pipelines: dict[int, dict] = {}
        self.stages: dict[int, dict] = {}
        for p in seed.get("pipelines", []):
            pipe = self.add_pipeline({"name": p["name"]})
            for s in p.get("stages", []):
                self.add_stage({"name": s, "pipeline_id": pipe["id"]})
        self.lead_labels = [{"id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)), "name": n,
                             "color": col, "add_time": now_v2(), "update_time": now_v2()}
                            for n, col in (("Hot", "red"), ("Warm", "yellow"), ("Cold", "blue"))]

    # --- ids ------------------------------------------------------------------------------
    def next_id(self, kind: str) -> int:
        with self.lock:
            self._counters[kind] = self._counters.get(kind, 0) + 1
            return self._counters[kind]

    def new_uuid(self) -> str:
        with self.lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def new_field_code(self) -> str:
        """A 40-character hex key, different in every sandbox instance unless seeded alike (§4)."""
        with self.lock:
            return "%040x" % self._rng.getrandbits(160)

    # --- users (v1 only, §3) --------------------------------------------------------------
    def _add_user(self, u: dict) -> dict:
        # Pipedrive user ids are numbers; a seed written for another CRM may carry its own ids
        uid = int(u["id"]) if str(u.get("id", "")).isdigit() else self.next_id("user")
        self._counters["user"] = max(self._counters.get("user", 0), uid)
        name = u.get("name") or f"{u.get('firstName', '')} {u.get('lastName', '')}".strip() or u["email"]
        admin = u.get("role", "user") == "admin" or u.get("admin", False)
        self.users[uid] = {
            "id": uid, "name": name, "default_currency": self.company["currency"], "locale": "en_US", "lang": 1,
            "email": u["email"], "phone": u.get("phone"), "activated": True, "last_login": now_v1(),
            "created": now_v1(), "modified": None, "has_created_company": not self.users,
            "access": [{"app": "sales", "admin": admin}, {"app": "global", "admin": admin}],
            "active_flag": True, "timezone_name": "America/Chicago", "timezone_offset": "-06:00",
            "role_id": 1, "icon_url": None, "is_you": False, "is_deleted": False,
        }
        return self.users[uid]

    def render_user(self, uid: int) -> dict:
        return {**self.users[uid], "is_you": uid == self.me}

    def get_user(self, uid: int) -> dict:
        with self.lock:
            if uid not in self.users:
                raise ApiError(404, "User not found or not accessible.")
            return self.render_user(uid)

    def add_user(self, body: dict) -> dict:
        """``POST /v1/users``: adds a seat (§3, "adds a paid seat, avoid")."""
        with self.lock:
            if any(u["email"].lower() == body["email"].lower() for u in self.users.values()):
                raise ApiError(400, f"User with email {body['email']} already exists in this company")
            admin = any(a.get("admin") for a in body.get("access") or [])
            u = self._add_user({"email": body["email"], "name": body["email"].split("@")[0], "admin": admin})
            u["active_flag"] = body.get("active_flag", True)
            return self.render_user(u["id"])

    def update_user(self, uid: int, body: dict) -> dict:
        with self.lock:
            if uid not in self.users:
                raise ApiError(404, "User not found or not accessible.")
            self.users[uid]["active_flag"] = body["active_flag"]
            self.users[uid]["modified"] = now_v1()
            return self.render_user(uid)

    def me_body(self) -> dict:
        c = self.company
        return {**self.render_user(self.me), "company_id": c["id"], "company_name": c["name"],
                "company_domain": c["domain"], "company_country": c["country"], "company_industry": "Healthcare",
                "language": {"language_code": "en", "country_code": "US"}}

    def check_user(self, uid: Any, field: str = "owner_id") -> None:
        """Users referenced must exist (a destination refuses an owner it does not have)."""
        if uid is not None and uid not in self.users:
            raise ApiError(400, f"{field}: user {uid} does not exist in this company")

    # --- activity types (v1 only, §3) -------------------------------------------------------
    def add_activity_type(self, body: dict, key: str | None = None) -> dict:
        with self.lock:
            if any(t["name"].lower() == body["name"].lower() and t["active_flag"] for t in self.activity_types.values()):
                raise ApiError(400, f"Activity type with name {body['name']} already exists")
            tid = self.next_id("activity_type")
            base = key or _key_string(body["name"])
            taken = {t["key_string"] for t in self.activity_types.values()}
            ks, n = base, 1
            while ks in taken:
                n += 1
                ks = f"{base}{n}"
            t = {"id": tid, "name": body["name"], "icon_key": body["icon_key"], "color": body.get("color", "FFFFFF"),
                 "order_nr": tid, "key_string": ks, "active_flag": True, "is_custom_flag": key is None,
                 "add_time": now_v2(), "update_time": now_v2()}
            self.activity_types[tid] = t
            return dict(t)

    def update_activity_type(self, tid: int, body: dict) -> dict:
        with self.lock:
            t = self.activity_types.get(tid)
            if t is None:
                raise ApiError(404, "Activity type not found")
            t.update({k: v for k, v in body.items() if k in ("name", "icon_key", "color", "order_nr")})
            t["update_time"] = now_v2()
            return dict(t)

    def delete_activity_type(self, tid: int) -> dict:
        with self.lock:
            t = self.activity_types.get(tid)
            if t is None or not t["active_flag"]:
                raise ApiError(404, "Activity type not found")
            t["active_flag"] = False  # deactivated, like the UI does; existing activities keep it
            return dict(t)

    def check_activity_type(self, key: str) -> None:
        if not any(t["key_string"] == key and t["active_flag"] for t in self.activity_types.values()):
            known = ", ".join(sorted(t["key_string"] for t in self.activity_types.values() if t["active_flag"]))
            raise ApiError(400, f"type: activity type '{key}' does not exist (active types: {known})")

    # --- pipelines and stages (v2, §3) ------------------------------------------------------
    def add_pipeline(self, body: dict) -> dict:
        with self.lock:
            pid = self.next_id("pipeline")
            p = {"id": pid, "name": body["name"], "order_nr": len(self.pipelines) + 1, "is_deleted": False,
                 "is_deal_probability_enabled": bool(body.get("is_deal_probability_enabled", False)),
                 "add_time": now_v2(), "update_time": now_v2()}
            self.pipelines[pid] = p
            return dict(p)

    def get_pipeline(self, pid: int) -> dict:
        with self.lock:
            p = self.pipelines.get(pid)
            if p is None or p["is_deleted"]:
                raise ApiError(404, "Pipeline not found")
            return dict(p)

    def update_pipeline(self, pid: int, body: dict) -> dict:
        with self.lock:
            self.get_pipeline(pid)
            p = self.pipelines[pid]
            p.update({k: v for k, v in body.items() if k in ("name", "is_deal_probability_enabled")})
            p["update_time"] = now_v2()
            return dict(p)

    def delete_pipeline(self, pid: int) -> dict:
        """Marks the pipeline deleted (deletePipeline: "Marks a pipeline as deleted")."""
        with self.lock:
            self.get_pipeline(pid)
            if sum(1 for p in self.pipelines.values() if not p["is_deleted"]) == 1:
                raise ApiError(400, "The last pipeline of a company cannot be deleted")
            self.pipelines[pid]["is_deleted"] = True
            for s in self.stages.values():
                if s["pipeline_id"] == pid:
                    s["is_deleted"] = True
            return {"id": pid}

    def live_pipelines(self) -> list[dict]:
        with self.lock:
            return [dict(p) for p in self.pipelines.values() if not p["is_deleted"]]

    def add_stage(self, body: dict) -> dict:
        with self.lock:
            pid = body["pipeline_id"]
            self.get_pipeline(pid)
            sid = self.next_id("stage")
            order = 1 + sum(1 for s in self.stages.values() if s["pipeline_id"] == pid and not s["is_deleted"])
            s = {"id": sid, "order_nr": order, "name": body["name"], "is_deleted": False,
                 "deal_probability": body.get("deal_probability", 100), "pipeline_id": pid,
                 "is_deal_rot_enabled": bool(body.get("is_deal_rot_enabled", False)),
                 "days_to_rotten": body.get("days_to_rotten"), "add_time": now_v2(), "update_time": now_v2()}
            self.stages[sid] = s
            return dict(s)

    def get_stage(self, sid: int) -> dict:
        with self.lock:
            s = self.stages.get(sid)
            if s is None or s["is_deleted"]:
                raise ApiError(404, "Stage not found")
            return dict(s)

    def update_stage(self, sid: int, body: dict) -> dict:
        with self.lock:
            self.get_stage(sid)
            if "pipeline_id" in body:
                self.get_pipeline(body["pipeline_id"])
            s = self.stages[sid]
            s.update({k: v for k, v in body.items() if k in ("name", "pipeline_id", "deal_probability",
                                                            "is_deal_rot_enabled", "days_to_rotten")})
            s["update_time"] = now_v2()
            return dict(s)

    def delete_stage(self, sid: int) -> dict:
        with self.lock:
            self.get_stage(sid)
            self.stages[sid]["is_deleted"] = True
            return {"id": sid}

    def live_stages(self, pipeline_id: int | None = None) -> list[dict]:
        with self.lock:
            return sorted((dict(s) for s in self.stages.values() if not s["is_deleted"]
                           and pipeline_id in (None, s["pipeline_id"])), key=lambda s: (s["pipeline_id"], s["order_nr"]))

    def first_stage(self) -> dict:
        """The default for a deal given neither stage nor pipeline (§5 Deals: "first stage of default pipeline")."""
        pipes = sorted(self.live_pipelines(), key=lambda p: p["order_nr"])
        for p in pipes:
            stages = self.live_stages(p["id"])
            if stages:
                return stages[0]
        raise ApiError(400, "The company has no pipeline with stages")
