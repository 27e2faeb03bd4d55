"""Person, organization and deal fields: the account's field catalogue and custom-field values.

Custom fields are keyed by a random 40-character hash per company (§4); values travel nested in
``custom_fields`` on v2 and at the record's root on v1 leads, whose custom fields are the deal
fields. Values are checked by type the way v2 is strict (§4): numbers are JSON numbers, an
``enum`` takes an existing option id, a ``set`` a non-empty list of them (``[]`` is an error,
``null`` clears), ``monetary`` ``{value, currency}``, ``date`` ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from .state import ApiError, now_v1, now_v2

__all__ = ["FieldsMixin", "ENTITIES", "CREATE_TYPES", "SEARCHABLE_TYPES"]

#: entity -> the v2 fields endpoint naming it
ENTITIES = {"person": "personFields", "organization": "organizationFields", "deal": "dealFields"}
#: field_type values addPersonField/addOrganizationField/addDealField accept (§4)
CREATE_TYPES = {"varchar", "text", "double", "phone", "date", "daterange", "time", "timerange", "set", "enum",
                "varchar_auto", "address", "monetary", "org", "people", "user"}
#: custom field types the search endpoints look into (searchPersons ``fields`` description)
SEARCHABLE_TYPES = {"address", "varchar", "text", "varchar_auto", "double", "monetary", "phone"}

#: built-in fields listed alongside custom ones (is_custom_field false): (code, name, type)
_SYSTEM = {
    "person": [("name", "Name", "varchar"), ("owner_id", "Owner", "user"), ("org_id", "Organization", "org"),
               ("emails", "Email", "varchar"), ("phones", "Phone", "phone"), ("label_ids", "Labels", "set"),
               ("add_time", "Person created", "date"), ("update_time", "Update time", "date"),
               ("visible_to", "Visible to", "visible_to")],
    "organization": [("name", "Name", "varchar"), ("owner_id", "Owner", "user"), ("address", "Address", "address"),
                     ("label_ids", "Labels", "set"), ("add_time", "Organization created", "date"),
                     ("update_time", "Update time", "date"), ("visible_to", "Visible to", "visible_to")],
    "deal": [("title", "Title", "varchar"), ("value", "Value", "monetary"), ("person_id", "Contact person", "people"),
             ("org_id", "Organization", "org"), ("pipeline_id", "Pipeline", "double"), ("stage_id", "Stage", "stage"),
             ("status", "Status", "status"), ("owner_id", "Owner", "user"),
             ("expected_close_date", "Expected close date", "date"), ("add_time", "Deal created", "date"),
             ("update_time", "Update time", "date"), ("visible_to", "Visible to", "visible_to")],
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_date(v: Any) -> bool:
    if not isinstance(v, str) or not _DATE.match(v):
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


class FieldsMixin:
    """The field catalogue per entity, and custom-field value checks (needs CoreState)."""

    def _init_fields(self) -> None:
        self.fields: dict[str, dict[str, dict]] = {}
        for entity, system in _SYSTEM.items():
            self.fields[entity] = {}
            for code, name, ftype in system:
                self.fields[entity][code] = {
                    "field_name": name, "field_code": code, "field_type": ftype, "options": None, "subfields": None,
                    "is_custom_field": False, "is_optional_response_field": False,
                    "id": self.next_id("field"), "add_time": now_v1()}
        self._option_id = 0

    # --- catalogue ------------------------------------------------------------------------
    def _render_field(self, f: dict) -> dict:
        return {k: v for k, v in f.items() if k not in ("id", "add_time")}

    def list_fields(self, entity: str) -> list[dict]:
        with self.lock:
            return [self._render_field(f) for f in self.fields[entity].values()]

    def get_field(self, entity: str, code: str) -> dict:
        with self.lock:
            f = self.fields[entity].get(code)
            if f is None:
                raise ApiError(404, f"Field with field_code {code} not found")
            return self._render_field(f)

    def _options(self, labels: list[dict]) -> list[dict]:
        out = []
        for o in labels:
            label = str(o.get("label", "")).strip()
            if not label:
                raise ApiError(400, "options: every option needs a non-empty label")
            self._option_id += 1
            out.append({"id": self._option_id, "label": label, "color": None, "add_time": now_v2(),
                        "update_time": now_v2()})
        return out

    def add_field(self, entity: str, body: dict) -> dict:
        """``POST /api/v2/{entity}Fields`` (§4): options required for enum and set."""
        with self.lock:
            ftype = body["field_type"]
            if ftype not in CREATE_TYPES:
                raise ApiError(400, f"field_type must be one of: {', '.join(sorted(CREATE_TYPES))}")
            raw = body.get("options")
            if ftype in ("enum", "set") and not raw:
                raise ApiError(400, "options are required for enum and set fields")
            if raw and ftype not in ("enum", "set"):
                raise ApiError(400, f"options are only allowed for enum and set fields, not {ftype}")
            code = self.new_field_code()
            sub = None
            if ftype == "monetary":
                sub = [{"field_code": f"{code}_currency", "field_name": f"Currency of {body['field_name']}",
                        "field_type": "varchar"}]
            elif ftype in ("daterange", "timerange"):
                sub = [{"field_code": f"{code}_until", "field_name": f"End of {body['field_name']}",
                        "field_type": ftype.replace("range", "")}]
            f = {"field_name": body["field_name"], "field_code": code, "field_type": ftype,
                 "options": self._options(raw) if raw else None, "subfields": sub, "is_custom_field": True,
                 "is_optional_response_field": False, "id": self.next_id("field"), "add_time": now_v1()}
            self.fields[entity][code] = f
            return self._render_field(f)

    def _custom_field(self, entity: str, code: str) -> dict:
        f = self.fields[entity].get(code)
        if f is None:
            raise ApiError(404, f"Field with field_code {code} not found")
        if not f["is_custom_field"]:
            raise ApiError(400, f"Field {code} is a system field and cannot be changed")
        return f

    def update_field(self, entity: str, code: str, body: dict) -> dict:
        with self.lock:
            f = self._custom_field(entity, code)
            if "field_name" in body:
                f["field_name"] = body["field_name"]
            return self._render_field(f)

    def delete_field(self, entity: str, code: str) -> dict:
        with self.lock:
            f = self._custom_field(entity, code)
            del self.fields[entity][code]
            for rec in self._records_of(entity):
                rec["custom"].pop(code, None)
            return self._render_field(f)

    def add_options(self, entity: str, code: str, labels: list[dict]) -> list[dict]:
        with self.lock:
            f = self._custom_field(entity, code)
            if f["field_type"] not in ("enum", "set"):
                raise ApiError(400, f"Field {code} is a {f['field_type']} field and has no options")
            new = self._options(labels)
            f["options"] = (f["options"] or []) + new
            return f["options"]

    def update_options(self, entity: str, code: str, changes: list[dict]) -> list[dict]:
        with self.lock:
            f = self._custom_field(entity, code)
            by_id = {o["id"]: o for o in f["options"] or []}
            for c in changes:
                if c.get("id") not in by_id:
                    raise ApiError(400, f"Option {c.get('id')} does not exist on field {code}")
                by_id[c["id"]].update(label=c["label"], update_time=now_v2())
            return f["options"]

    def delete_options(self, entity: str, code: str, ids: list[dict]) -> list[dict]:
        with self.lock:
            f = self._custom_field(entity, code)
            gone = {o.get("id") for o in ids}
            unknown = gone - {o["id"] for o in f["options"] or []}
            if unknown:
                raise ApiError(400, f"Options {sorted(unknown)} do not exist on field {code}")
            f["options"] = [o for o in f["options"] if o["id"] not in gone]
            return f["options"]

    def _records_of(self, entity: str) -> list[dict]:
        stores = {"person": [self.persons], "organization": [self.organizations], "deal": [self.deals, self.leads]}
        return [r for store in stores[entity] for r in store.values()]

    # --- values ---------------------------------------------------------------------------
    def custom_values(self, entity: str, given: dict | None, current: dict, *, v1: bool = False) -> dict:
        """Check ``given`` (field_code -> value) and merge it onto ``current``.

        Raises:
            ApiError: 400 naming the field_code, for an unknown key or a bad value (§7: "custom-field
                validation errors ... include the field_code").
        """
        out = dict(current)
        errors = []
        for code, value in (given or {}).items():
            f = self.fields[entity].get(code)
            if f is None or not f["is_custom_field"]:
                errors.append(f"custom field {code} does not exist")
                continue
            if value is None:
                out.pop(code, None)
                continue
            try:
                out[code] = self._check_value(f, value, v1=v1)
            except ValueError as e:
                errors.append(f"{code} ({f['field_name']}): {e}")
        if errors:
            raise ApiError(400, "Validation failed: " + "; ".join(errors))
        return out

    def _check_value(self, f: dict, value: Any, *, v1: bool) -> Any:
        t = f["field_type"]
        option_ids = {o["id"] for o in f["options"] or []}
        if t in ("varchar", "varchar_auto", "phone"):
            if not isinstance(value, str):
                raise ValueError("must be a string")
            if len(value) > 255:
                raise ValueError("must be at most 255 characters")
            return value
        if t == "text":
            if not isinstance(value, str):
                raise ValueError("must be a string")
            if len(value) > 65_536:
                raise ValueError("must be at most 65536 characters")
            return value
        if t == "double":
            if not _is_number(value):
                raise ValueError("must be a number")
            return value
        if t == "monetary":
            if v1 and _is_number(value):  # v1 writes the amount at the root and <key>_currency beside it
                return {"value": value, "currency": self.company["currency"]}
            if not isinstance(value, dict) or not _is_number(value.get("value")) or not isinstance(value.get("currency"), str):
                raise ValueError("must be an object {value: number, currency: string}")
            return {"value": value["value"], "currency": value["currency"]}
        if t == "date":
            if not _check_date(value):
                raise ValueError("must be a date YYYY-MM-DD")
            return value
        if t == "time":
            if not isinstance(value, str) or not _TIME.match(value):
                raise ValueError("must be a time HH:MM:SS")
            return value if len(value) == 8 else value + ":00"
        if t == "enum":
            if v1 and isinstance(value, str) and value.isdigit():
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool) or value not in option_ids:
                raise ValueError(f"option id {value!r} does not exist (options: {sorted(option_ids)})")
            return value
        if t == "set":
            if v1 and isinstance(value, str):
                value = [int(x) for x in value.split(",") if x.strip().isdigit()]
            if not isinstance(value, list) or not value:
                raise ValueError("must be a non-empty list of option ids (null clears it)")
            bad = [v for v in value if not isinstance(v, int) or isinstance(v, bool) or v not in option_ids]
            if bad:
                raise ValueError(f"option ids {bad} do not exist (options: {sorted(option_ids)})")
            return sorted(set(value))
        if t in ("daterange", "timerange"):
            if not isinstance(value, dict) or "value" not in value or "until" not in value:
                raise ValueError("must be an object {value, until}")
            return value
        if t == "address":
            if isinstance(value, str):
                return {"value": value}
            if not isinstance(value, dict) or not isinstance(value.get("value"), str):
                raise ValueError("must be an object {value, ...}")
            return value
        if t == "user":
            if value not in self.users:
                raise ValueError(f"user {value} does not exist")
            return value
        if t == "org":
            if self.organizations.get(value, {}).get("is_deleted", True):
                raise ValueError(f"organization {value} does not exist")
            return value
        if t == "people":
            if self.persons.get(value, {}).get("is_deleted", True):
                raise ValueError(f"person {value} does not exist")
            return value
        raise ValueError(f"fields of type {t} cannot be written")

    def render_custom(self, entity: str, stored: dict, only: str | None = None) -> dict:
        """v2 ``custom_fields``: every custom field of the entity, null where unset."""
        wanted = None if not only else set(only.split(","))
        return {code: stored.get(code) for code, f in self.fields[entity].items()
                if f["is_custom_field"] and (wanted is None or code in wanted)}

    def render_custom_v1(self, entity: str, stored: dict) -> dict:
        """v1 (leads): custom values at the root; monetary as amount plus ``<key>_currency``."""
        out: dict[str, Any] = {}
        for code, f in self.fields[entity].items():
            if not f["is_custom_field"] or code not in stored:
                continue
            v = stored[code]
            if f["field_type"] == "monetary":
                out[code], out[f"{code}_currency"] = v["value"], v["currency"]
            else:
                out[code] = v
        return out

    def v1_custom_keys(self, entity: str) -> set[str]:
        """Root keys a v1 body may carry for custom fields (the key, and monetary's currency)."""
        keys = set()
        for code, f in self.fields[entity].items():
            if f["is_custom_field"]:
                keys.add(code)
                if f["field_type"] == "monetary":
                    keys.add(f"{code}_currency")
        return keys

    def v1_field(self, entity: str, f: dict, order: int) -> dict:
        """A field as the v1 field endpoints describe it (getLeadFields)."""
        return {"id": f["id"], "key": f["field_code"], "name": f["field_name"], "order_nr": order,
                "field_type": f["field_type"], "add_time": _v1_to_iso(f["add_time"]), "update_time": None,
                "last_updated_by_user_id": None, "created_by_user_id": self.me, "active_flag": True,
                "edit_flag": f["is_custom_field"], "index_visible_flag": True, "details_visible_flag": True,
                "add_visible_flag": True, "important_flag": False, "bulk_edit_allowed": True,
                "searchable_flag": f["field_type"] in SEARCHABLE_TYPES, "filtering_allowed": True,
                "sortable_flag": True, "mandatory_flag": False,
                "options": [{"id": o["id"], "label": o["label"]} for o in f["options"]] if f["options"] else None,
                "options_deleted": [], "is_subfield": False, "subfields": []}


def _v1_to_iso(v1: str) -> str:
    return datetime.strptime(v1, "%Y-%m-%d %H:%M:%S").strftime("%Y-%m-%dT%H:%M:%S.000Z")
