"""The HighLevel sandbox's in-memory state: one location (sub-account) and everything in it.

Everything here is HTTP-free: handlers in :mod:`.routes` translate requests into calls on
:class:`State` and :class:`~.common.ApiError` into the vendor's error bodies. The state is one
class assembled from one mixin per area (contacts, opportunities, businesses, tasks and notes,
custom fields, custom objects, associations, calendars, media), all sharing one re-entrant
lock and one id generator. Behaviours are cited to the research note
(``shared/research/highlevel.md``, "§n") or the spec file they come from.
"""

from __future__ import annotations

import copy
import json
import random
import threading
import uuid
from pathlib import Path
from typing import Any

from .activities import ActivityStore
from .associations import AssociationStore
from .businesses import BusinessStore
from .calendars import CalendarStore
from .common import HEX_CHARS, ID_CHARS, ApiError, ms_of, now_iso, stable_id
from .contacts import ContactStore
from .fields import DATA_TYPES, FieldStore
from .medias import MediaStore
from .objects import ObjectStore
from .opportunities import OpportunityStore

__all__ = ["State", "ApiError", "load_seed", "DATA_TYPES", "now_iso", "ms_of"]

DEFAULT_SEED = Path(__file__).parent / "seed.json"


def load_seed(seed: dict | str | None) -> dict:
    """The default seed with ``seed`` (a dict or JSON path) merged on.

    Users are added to the default users (same id or email replaces); pipelines and calendars
    replace a default one of the same name or are added; location keys and settings are merged.
    """
    base = json.loads(DEFAULT_SEED.read_text(encoding="utf-8"))
    if seed is None:
        return base
    extra = json.loads(Path(seed).read_text(encoding="utf-8")) if isinstance(seed, (str, Path)) else copy.deepcopy(seed)
    loc = extra.get("location", {})
    base["location"]["settings"].update(loc.pop("settings", {}))
    base["location"].update(loc)
    for u in extra.get("users", []):
        base["users"] = [b for b in base["users"]
                         if (u.get("id") is None or b.get("id") != u["id"])
                         and b["email"].lower() != u["email"].lower()] + [u]
    for kind in ("pipelines", "calendars"):
        for p in extra.get(kind, []):
            base[kind] = [b for b in base.get(kind, []) if b["name"] != p["name"]] + [p]
    return base


class State(ContactStore, OpportunityStore, BusinessStore, ActivityStore, FieldStore, ObjectStore,
            AssociationStore, CalendarStore, MediaStore):
    """One location's data. All public methods are thread-safe (one re-entrant lock)."""

    #: record stores emptied by :meth:`reset` (users, pipelines, calendars and the location stay)
    _STORES = ("contacts", "opportunities", "custom_fields", "businesses", "tasks", "notes", "fields_v2",
               "folders", "schemas", "records", "associations", "relations", "events", "media", "media_bytes",
               "schedules")

    def __init__(self, location_id: str, seed: dict, rng_seed: int = 0):
        self.lock = threading.RLock()
        self.location_id = location_id
        self._rng = random.Random(rng_seed)
        self._issued: set[str] = set()
        loc = seed["location"]
        self.location = {"id": location_id, **{k: v for k, v in loc.items() if k != "settings"},
                         "settings": dict(loc.get("settings", {}))}
        self.users = [self._user(u) for u in seed.get("users", [])]
        self.pipelines = [self._pipeline(p) for p in seed.get("pipelines", [])]
        self.calendars = [self.seed_calendar(c) for c in seed.get("calendars", [])]
        for name in self._STORES:
            setattr(self, name, {})

    # --- seed -------------------------------------------------------------------------
    def _user(self, u: dict) -> dict:
        uid = u.get("id") or stable_id(self.location_id, "user", u["email"])
        first, last = u.get("firstName", ""), u.get("lastName", "")
        return {"id": uid, "name": u.get("name") or f"{first} {last}".strip(), "firstName": first,
                "lastName": last, "email": u["email"], "phone": u.get("phone", ""), "deleted": False,
                "roles": {"type": "account", "role": u.get("role", "user"), "locationIds": [self.location_id]}}

    def _pipeline(self, p: dict) -> dict:
        pid = p.get("id") or stable_id(self.location_id, "pipeline", p["name"])
        stages = []
        for pos, s in enumerate(p.get("stages", [])):
            s = {"name": s} if isinstance(s, str) else dict(s)
            stages.append({"id": s.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pid}/{s['name']}")),
                           "name": s["name"], "position": s.get("position", pos)})
        return {"id": pid, "name": p["name"], "stages": stages, "showInFunnel": True,
                "showInPieChart": True, "locationId": self.location_id}

    # --- ids, dump, reset -----------------------------------------------------------------
    def _fresh(self, alphabet: str, length: int) -> str:
        with self.lock:
            while True:
                nid = "".join(self._rng.choice(alphabet) for _ in range(length))
                if nid not in self._issued:
                    self._issued.add(nid)
                    return nid

    def new_id(self) -> str:
        """A 20-character id like HighLevel's contact/opportunity/task/field ids (§7)."""
        return self._fresh(ID_CHARS, 20)

    def new_hex_id(self) -> str:
        """A 24-hex id like HighLevel's business/object/record ids (§7)."""
        return self._fresh(HEX_CHARS, 24)

    def dump(self) -> dict:
        """The whole state as JSON-able data, records rendered as the API returns them."""
        with self.lock:
            return copy.deepcopy({
                "location": self.location, "users": self.users, "pipelines": self.pipelines,
                "calendars": self.calendars,
                "customFields": list(self.custom_fields.values()),
                "contacts": [self.render_contact(c) for c in self.contacts.values()],
                "opportunities": [self.render_opportunity(o) for o in self.opportunities.values()],
                "businesses": [{**self.render_business(b), "properties": b["properties"]} for b in self.businesses.values()],
                "tasks": list(self.tasks.values()), "notes": list(self.notes.values()),
                "customFieldsV2": list(self.fields_v2.values()), "customFieldFolders": list(self.folders.values()),
                "objects": list(self.schemas.values()),
                "records": [{**self.render_record(r), "objectKey": r["objectKey"]} for r in self.records.values()],
                "associations": list(self.associations.values()), "relations": list(self.relations.values()),
                "events": [self.render_event(e) for e in self.events.values()],
                "schedules": list(self.schedules.values()),
                "media": list(self.media.values()),
            })

    def reset(self) -> None:
        """Drop every record, custom field and custom object; keep users, pipelines, calendars
        and the location with its settings."""
        with self.lock:
            for name in self._STORES:
                getattr(self, name).clear()

    # --- lookups ----------------------------------------------------------------------
    def user_ids(self) -> set[str]:
        return {u["id"] for u in self.users}

    def check_location(self, location_id: str | None) -> None:
        """A token for one location may not touch another (403, §1)."""
        if location_id is not None and location_id != self.location_id:
            raise ApiError(403, "The token does not have access to this location.")

    def check_owner(self, assigned: Any) -> None:
        """Users referenced by a record must exist (422, the vendor's validation shape)."""
        if assigned not in (None, "") and assigned not in self.user_ids():
            raise ApiError(422, [f"assignedTo must be the id of a user of this location, got {assigned}"])

    def search_users(self, query: dict[str, str]) -> dict:
        """``GET /users/search``: the agency's users, filtered to this location (§4 "Users")."""
        with self.lock:
            if query.get("companyId") != self.location.get("companyId"):
                raise ApiError(403, "The token does not have access to this company.")
            self.check_location(query.get("locationId"))
            users = list(self.users)
            q = (query.get("query") or "").lower()
            if q:
                users = [u for u in users if q in u["name"].lower() or q in u["email"].lower()]
            try:
                skip, limit = int(query.get("skip") or 0), int(query.get("limit") or 25)
            except ValueError:
                raise ApiError(422, ["skip and limit must be numbers"]) from None
            return {"users": users[skip: skip + limit], "count": len(users)}
