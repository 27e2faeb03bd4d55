"""The HighLevel sandbox's in-memory state and the vendor's business rules.

Everything here is HTTP-free: handlers in :mod:`.app` translate requests into calls on
:class:`State` and :class:`ApiError` into the vendor's error bodies. Behaviours are cited to the
research note (``shared/research/highlevel.md``, "§n") or the spec file they come from.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import re
import string
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["State", "ApiError", "load_seed", "DATA_TYPES", "now_iso"]

DEFAULT_SEED = Path(__file__).parent / "seed.json"

#: dataType values (apps/custom-fields.json enum, research §4 "Custom fields")
DATA_TYPES = {"TEXT", "LARGE_TEXT", "NUMERICAL", "PHONE", "MONETORY", "CHECKBOX", "SINGLE_OPTIONS",
              "MULTIPLE_OPTIONS", "DATE", "TEXTBOX_LIST", "FILE_UPLOAD", "RADIO", "EMAIL"}
_PICKLISTS = {"SINGLE_OPTIONS", "MULTIPLE_OPTIONS", "CHECKBOX", "RADIO"}
_ID_CHARS = string.ascii_letters + string.digits
_STATUSES = {"open", "won", "lost", "abandoned"}  # "all" is only meaningful for search (research §4)


class ApiError(Exception):
    """A vendor error response. ``message`` is a list for 422s (the vendor's shape, §1)."""

    def __init__(self, status: int, message: str | list[str], **extra: Any):
        self.status, self.message, self.extra = status, message, extra
        super().__init__(f"{status}: {message}")

    def body(self) -> dict:
        if self.status == 422:
            msg = self.message if isinstance(self.message, list) else [self.message]
            return {"statusCode": 422, "message": msg, "error": "Unprocessable Entity", **self.extra}
        names = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                 429: "Too Many Requests"}
        body = {"statusCode": self.status, "message": self.message, **self.extra}
        if self.status in names and self.status != 400:  # 400 is {statusCode, message} (common-schemas)
            body["error"] = names[self.status]
        return body


def now_iso() -> str:
    """ISO 8601 UTC with milliseconds, as HighLevel writes timestamps (§7)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def load_seed(seed: dict | str | None) -> dict:
    """The default seed with ``seed`` (a dict or JSON path) merged on.

    Users are added to the default users (same id or email replaces); pipelines replace a
    default pipeline of the same name or are added; location keys and settings are merged.
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
                         if b.get("id") != u.get("id") and b["email"].lower() != u["email"].lower()] + [u]
    for p in extra.get("pipelines", []):
        base["pipelines"] = [b for b in base["pipelines"] if b["name"] != p["name"]] + [p]
    return base


def _stable_id(*parts: str) -> str:
    # Seeded objects get ids derived from their names so a restarted sandbox keeps them.
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return "".join(_ID_CHARS[b % len(_ID_CHARS)] for b in digest[:20])


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _normalize_phone(phone: str) -> str:
    """Store phones as E.164 like HighLevel does for a US location (§7)."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+"):
        return "+" + digits
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    return "+" + digits if digits else phone


_DOB_FORMATS = ["%Y/%m/%d", "%m/%d/%Y", "%Y-%m-%d", "%m-%d-%Y", "%Y.%m.%d", "%m.%d.%Y", "%Y_%m_%d", "%m_%d_%Y"]


def _normalize_dob(value: str) -> str:
    """Accept the formats the spec lists for dateOfBirth; return YYYY-MM-DDT00:00:00.000Z (§7)."""
    for fmt in _DOB_FORMATS:
        try:
            d = datetime.strptime(str(value)[:10], fmt)
            return d.strftime("%Y-%m-%dT00:00:00.000Z")
        except ValueError:
            continue
    raise ApiError(422, ["dateOfBirth must be a valid date"])


class State:
    """One location's data. All public methods are thread-safe (one re-entrant lock)."""

    def __init__(self, location_id: str, seed: dict, rng_seed: int = 0):
        self.lock = threading.RLock()
        self.location_id = location_id
        self._rng = random.Random(rng_seed)
        loc = seed["location"]
        self.location = {"id": location_id, **{k: v for k, v in loc.items() if k != "settings"},
                         "settings": dict(loc.get("settings", {}))}
        self.users = [self._user(u) for u in seed.get("users", [])]
        self.pipelines = [self._pipeline(p) for p in seed.get("pipelines", [])]
        self.contacts: dict[str, dict] = {}
        self.opportunities: dict[str, dict] = {}
        self.custom_fields: dict[str, dict] = {}

    # --- seed -------------------------------------------------------------------------
    def _user(self, u: dict) -> dict:
        uid = u.get("id") or _stable_id(self.location_id, "user", u["email"])
        first, last = u.get("firstName", ""), u.get("lastName", "")
        return {"id": uid, "name": u.get("name") or f"{first} {last}".strip(), "firstName": first,
                "lastName": last, "email": u["email"], "phone": u.get("phone", ""), "deleted": False,
                "roles": {"type": "account", "role": u.get("role", "user"), "locationIds": [self.location_id]}}

    def _pipeline(self, p: dict) -> dict:
        pid = p.get("id") or _stable_id(self.location_id, "pipeline", p["name"])
        stages = []
        for pos, s in enumerate(p.get("stages", [])):
            s = {"name": s} if isinstance(s, str) else dict(s)
            stages.append({"id": s.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{pid}/{s['name']}")),
                           "name": s["name"], "position": s.get("position", pos)})
        return {"id": pid, "name": p["name"], "stages": stages, "showInFunnel": True,
                "showInPieChart": True, "locationId": self.location_id}

    # --- ids, dump, reset -----------------------------------------------------------------
    def new_id(self) -> str:
        """A 20-character id like HighLevel's contact/opportunity/field ids (§7)."""
        with self.lock:
            while True:
                nid = "".join(self._rng.choice(_ID_CHARS) for _ in range(20))
                if nid not in self.contacts and nid not in self.opportunities and nid not in self.custom_fields:
                    return nid

    def dump(self) -> dict:
        """The whole state as JSON-able data, records rendered as the API returns them."""
        with self.lock:
            return copy.deepcopy({
                "location": self.location, "users": self.users, "pipelines": self.pipelines,
                "customFields": list(self.custom_fields.values()),
                "contacts": [self.render_contact(c) for c in self.contacts.values()],
                "opportunities": [self.render_opportunity(o) for o in self.opportunities.values()],
            })

    def reset(self) -> None:
        """Drop records and custom fields; keep users, pipelines and the location."""
        with self.lock:
            self.contacts.clear()
            self.opportunities.clear()
            self.custom_fields.clear()

    # --- lookups ----------------------------------------------------------------------
    def user_ids(self) -> set[str]:
        return {u["id"] for u in self.users}

    def check_location(self, location_id: str | None) -> None:
        """A token for one location may not touch another (403, §1)."""
        if location_id is not None and location_id != self.location_id:
            raise ApiError(403, "The token does not have access to this location.")

    # --- custom fields ----------------------------------------------------------------
    def create_custom_field(self, body: dict) -> dict:
        with self.lock:
            dtype, model = body["dataType"], body.get("model", "contact")
            if dtype not in DATA_TYPES:
                raise ApiError(422, [f"dataType must be one of the following values: {', '.join(sorted(DATA_TYPES))}"])
            # How picklist options are passed is a documented gap (§10); accept `options`
            # (strings or {key,label}, as in apps/custom-fields.json) and `picklistOptions`.
            raw = body.get("options", body.get("picklistOptions")) or []
            options = [o["label"] if isinstance(o, dict) else str(o) for o in raw]
            if dtype in _PICKLISTS and not options:
                raise ApiError(422, ["options should not be empty"])
            key = body.get("fieldKey") or f"{model}.{_snake(body['name'])}"
            if not key.startswith(model + "."):  # prefix added if omitted, as for object keys (§4)
                key = f"{model}.{key}"
            if any(f["fieldKey"] == key for f in self.custom_fields.values()):
                raise ApiError(400, f"A custom field with key {key} already exists")
            field = {"id": self.new_id(), "name": body["name"], "fieldKey": key, "placeholder": body.get("placeholder", ""),
                     "dataType": dtype, "position": body.get("position", 0), "picklistOptions": options,
                     "picklistImageOptions": [], "isAllowedCustomOption": False, "isMultiFileAllowed": False,
                     "maxFileLimit": 0, "locationId": self.location_id, "model": model}
            self.custom_fields[field["id"]] = field
            return field

    def list_custom_fields(self, model: str | None) -> list[dict]:
        with self.lock:
            return [f for f in self.custom_fields.values() if model in (None, "all") or f["model"] == model]

    def delete_custom_field(self, fid: str) -> None:
        with self.lock:
            if self.custom_fields.pop(fid, None) is None:
                raise ApiError(404, "Custom field not found")
            for rec in [*self.contacts.values(), *self.opportunities.values()]:
                rec["customFields"].pop(fid, None)

    def _custom_values(self, items: list, model: str, current: dict) -> dict:
        """Validate and merge custom-field values (§4: accept field_value and fieldValue)."""
        out, errors = dict(current), []
        for item in items:
            fid = item.get("id")
            field = self.custom_fields.get(fid) if fid else None
            if field is None or field["model"] != model:
                errors.append(f"customFields: no {model} custom field with id {fid}")
                continue
            value = item["field_value"] if "field_value" in item else item.get("fieldValue")
            if value is None or value == "" or value == []:
                out.pop(fid, None)  # an empty value clears the field
                continue
            try:
                out[fid] = _check_value(field, value)
            except ValueError as e:
                errors.append(str(e))
        if errors:
            raise ApiError(422, errors)
        return out

    def _check_owner(self, assigned: Any) -> None:
        if assigned not in (None, "") and assigned not in self.user_ids():
            raise ApiError(422, [f"assignedTo must be the id of a user of this location, got {assigned}"])

    # --- contacts ---------------------------------------------------------------------
    def find_duplicate(self, email: str | None, phone: str | None) -> tuple[dict | None, str | None]:
        """The contact matching by email first, then phone (§4, duplicate lookup)."""
        with self.lock:
            if email:
                for c in self.contacts.values():
                    if (c.get("email") or "").lower() == email.lower():
                        return c, "email"
            if phone:
                p = _normalize_phone(phone)
                for c in self.contacts.values():
                    if c.get("phone") == p:
                        return c, "phone"
            return None, None

    def _apply_contact(self, c: dict, body: dict) -> None:
        self._check_owner(body.get("assignedTo"))
        fields = {k: v for k, v in body.items() if k not in ("customFields", "locationId", "createNewIfDuplicateAllowed")}
        if fields.get("phone"):
            fields["phone"] = _normalize_phone(fields["phone"])
        if fields.get("dateOfBirth"):
            fields["dateOfBirth"] = _normalize_dob(fields["dateOfBirth"])
        values = self._custom_values(body.get("customFields") or [], "contact", c.get("customFields", {}))
        c.update(fields)
        c["customFields"] = values
        if "firstName" in body or "lastName" in body:
            c["name"] = " ".join(x for x in (c.get("firstName"), c.get("lastName")) if x) or None
        c["dateUpdated"] = now_iso()

    def create_contact(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body.get("locationId"))
            if not self.location["settings"].get("allowDuplicateContact", False):
                dup, how = self.find_duplicate(body.get("email"), body.get("phone"))
                if dup is not None:  # shape from public clients, not the spec (§4, unverified)
                    raise ApiError(400, "This location does not allow duplicated contacts.",
                                   meta={"contactId": dup["id"], "matchingField": how})
            c = {"id": self.new_id(), "locationId": self.location_id, "tags": [], "customFields": {},
                 "dateAdded": now_iso(), "type": "lead", "source": None}
            self._apply_contact(c, body)
            self.contacts[c["id"]] = c
            return self.render_contact(c)

    def upsert_contact(self, body: dict) -> tuple[bool, dict]:
        """Update the duplicate if one matches, else create (§4, upsert)."""
        with self.lock:
            self.check_location(body.get("locationId"))
            if not body.get("email") and not body.get("phone"):
                raise ApiError(400, "Pass at least one of number, email")
            dup, _ = self.find_duplicate(body.get("email"), body.get("phone"))
            allow = self.location["settings"].get("allowDuplicateContact", False)
            if dup is None or (allow and body.get("createNewIfDuplicateAllowed")):
                c = {"id": self.new_id(), "locationId": self.location_id, "tags": [], "customFields": {},
                     "dateAdded": now_iso(), "type": "lead", "source": None}
                self._apply_contact(c, body)
                self.contacts[c["id"]] = c
                return True, self.render_contact(c)
            self._apply_contact(dup, body)
            return False, self.render_contact(dup)

    def get_contact(self, cid: str) -> dict:
        with self.lock:
            c = self.contacts.get(cid)
            if c is None:
                raise ApiError(404, "Contact not found")
            return self.render_contact(c)

    def update_contact(self, cid: str, body: dict) -> dict:
        with self.lock:
            c = self.contacts.get(cid)
            if c is None:
                raise ApiError(404, "Contact not found")
            self._apply_contact(c, body)
            return self.render_contact(c)

    def delete_contact(self, cid: str) -> None:
        with self.lock:
            if self.contacts.pop(cid, None) is None:
                raise ApiError(404, "Contact not found")
            # Deleting a contact removes its opportunities too (observed UI behaviour; unverified).
            for oid in [o["id"] for o in self.opportunities.values() if o["contactId"] == cid]:
                del self.opportunities[oid]

    def render_contact(self, c: dict) -> dict:
        """A contact as the API returns it: custom fields as ``[{id, value}]`` (§4)."""
        out = {k: v for k, v in c.items() if k != "customFields" and v is not None}
        out["customFields"] = [{"id": k, "value": v} for k, v in c["customFields"].items()]
        for f in ("firstName", "lastName", "email"):
            if c.get(f):
                out[f + "LowerCase"] = c[f].lower()
        if c.get("name"):
            out["fullNameLowerCase"] = c["name"].lower()
        return out

    # --- opportunities ----------------------------------------------------------------
    def _pipeline_by_id(self, pid: str) -> dict:
        p = next((p for p in self.pipelines if p["id"] == pid), None)
        if p is None:
            raise ApiError(422, [f"pipelineId {pid} does not exist in this location"])
        return p

    def _apply_opportunity(self, o: dict, body: dict) -> None:
        self._check_owner(body.get("assignedTo"))
        if "status" in body and body["status"] not in _STATUSES:
            raise ApiError(422, ["status must be one of the following values: open, won, lost, abandoned"])
        pipeline = self._pipeline_by_id(body.get("pipelineId", o.get("pipelineId")))
        stage_id = body.get("pipelineStageId") or o.get("pipelineStageId")
        if body.get("pipelineId") and not body.get("pipelineStageId") and stage_id not in {s["id"] for s in pipeline["stages"]}:
            stage_id = min(pipeline["stages"], key=lambda s: s["position"])["id"] if pipeline["stages"] else None
        if stage_id not in {s["id"] for s in pipeline["stages"]}:
            raise ApiError(422, [f"pipelineStageId {stage_id} is not a stage of pipeline {pipeline['name']}"])
        values = self._custom_values(body.get("customFields") or [], "opportunity", o.get("customFields", {}))
        now = now_iso()
        if body.get("status") and body["status"] != o.get("status"):
            o["lastStatusChangeAt"] = now
        if stage_id != o.get("pipelineStageId"):
            o["lastStageChangeAt"] = now
        o.update({k: v for k, v in body.items() if k not in ("customFields", "locationId")})
        o["pipelineStageId"], o["customFields"], o["updatedAt"] = stage_id, values, now

    def create_opportunity(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body.get("locationId"))
            if body["contactId"] not in self.contacts:
                raise ApiError(400, f"Contact with id {body['contactId']} not found")
            o = {"id": self.new_id(), "locationId": self.location_id, "createdAt": now_iso(),
                 "customFields": {}}
            self._apply_opportunity(o, body)
            self.opportunities[o["id"]] = o
            return self.render_opportunity(o)

    def get_opportunity(self, oid: str) -> dict:
        with self.lock:
            o = self.opportunities.get(oid)
            if o is None:
                raise ApiError(404, "Opportunity not found")
            return self.render_opportunity(o)

    def update_opportunity(self, oid: str, body: dict) -> dict:
        with self.lock:
            o = self.opportunities.get(oid)
            if o is None:
                raise ApiError(404, "Opportunity not found")
            self._apply_opportunity(o, body)
            return self.render_opportunity(o)

    def delete_opportunity(self, oid: str) -> None:
        with self.lock:
            if self.opportunities.pop(oid, None) is None:
                raise ApiError(404, "Opportunity not found")

    def render_opportunity(self, o: dict) -> dict:
        """An opportunity as the API returns it: custom fields as ``[{id, fieldValue}]``
        (CustomFieldResponseSchema in apps/opportunities.json), with a contact summary."""
        out = {k: v for k, v in o.items() if k != "customFields" and v is not None}
        out["customFields"] = [{"id": k, "fieldValue": v} for k, v in o["customFields"].items()]
        c = self.contacts.get(o["contactId"])
        if c is not None:
            out["contact"] = {k: c[k] for k in ("id", "name", "companyName", "email", "phone", "tags") if c.get(k) is not None}
        return out


def _check_value(field: dict, value: Any) -> Any:
    """One custom-field value checked against its field's dataType (§4 value types)."""
    t, name, opts = field["dataType"], field["name"], field["picklistOptions"]
    if t in ("NUMERICAL", "MONETORY"):
        if isinstance(value, bool):
            raise ValueError(f"{name} must be a number")
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number") from None
        return int(num) if num.is_integer() and not isinstance(value, float) else num
    if t in ("SINGLE_OPTIONS", "RADIO"):
        if value not in opts:
            raise ValueError(f"{value} is not a valid option for {name} (options: {', '.join(opts)})")
        return value
    if t in ("MULTIPLE_OPTIONS", "CHECKBOX"):
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v not in opts]
        if bad:
            raise ValueError(f"{', '.join(map(str, bad))} is not a valid option for {name} (options: {', '.join(opts)})")
        return values
    if t == "DATE":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value  # epoch ms is accepted
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name} must be a date (YYYY-MM-DD)") from None
        return value
    if t == "EMAIL" and "@" not in str(value):
        raise ValueError(f"{name} must be an email")
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value
