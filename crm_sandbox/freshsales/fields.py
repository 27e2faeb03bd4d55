"""The account's field registry: standard and custom fields per module, and value checks.

Custom fields are named ``cf_`` + the snake-cased label, chosen when the field is created, and
live under ``custom_field`` in bodies (research freshsales.md §5). Pick-list (dropdown) values
must be one of the field's configured choices (§5). Field type names are the sandbox's
vocabulary (see :data:`.schemas.CUSTOM_FIELD_TYPES`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Callable

from .schemas import FIELD_TYPE_CODES

__all__ = ["FieldRegistry", "ApiError", "STANDARD_FIELDS", "snake", "parse_timestamp"]

_CODE_TO_TYPE = {code: name for name, code in FIELD_TYPE_CODES.items()}


class ApiError(Exception):
    """A vendor error response: ``{"errors": {"code": status, "message": [...]}}`` (§9)."""

    def __init__(self, status: int, message: str | list[str]):
        self.status = status
        self.messages = message if isinstance(message, list) else [message]
        super().__init__(f"{status}: {'; '.join(self.messages)}")

    def body(self) -> dict:
        return {"errors": {"code": self.status, "message": self.messages}}


def snake(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


#: standard fields listed by ``GET /api/settings/<module>/fields`` (§4), name -> (label, type)
STANDARD_FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "contacts": {"first_name": ("First name", "text"), "last_name": ("Last name", "text"),
                 "email": ("Email", "email"), "mobile_number": ("Mobile", "phone_number"),
                 "work_number": ("Work", "phone_number"), "address": ("Address", "textarea"),
                 "city": ("City", "text"), "state": ("State", "text"), "zipcode": ("Zipcode", "text"),
                 "country": ("Country", "text"), "job_title": ("Job title", "text"),
                 "owner_id": ("Sales owner", "dropdown"), "lifecycle_stage_id": ("Lifecycle stage", "dropdown"),
                 "contact_status_id": ("Status", "dropdown"), "lead_source_id": ("Source", "dropdown"),
                 "sales_account_id": ("Account", "dropdown")},
    "sales_accounts": {"name": ("Name", "text"), "address": ("Address", "textarea"), "city": ("City", "text"),
                       "state": ("State", "text"), "zipcode": ("Zipcode", "text"), "country": ("Country", "text"),
                       "phone": ("Phone", "phone_number"), "website": ("Website", "text"),
                       "owner_id": ("Sales owner", "dropdown"),
                       "parent_sales_account_id": ("Parent account", "dropdown"),
                       "industry_type_id": ("Industry type", "dropdown"),
                       "business_type_id": ("Business type", "dropdown")},
    "deals": {"name": ("Name", "text"), "amount": ("Deal value", "currency"),
              "expected_close": ("Expected close date", "date"), "owner_id": ("Sales owner", "dropdown"),
              "deal_pipeline_id": ("Deal pipeline", "dropdown"), "deal_stage_id": ("Deal stage", "dropdown"),
              "sales_account_id": ("Account", "dropdown"), "probability": ("Probability (%)", "number")},
}


def parse_timestamp(value: str, zone) -> datetime:
    """An ISO 8601 timestamp; one without an offset is read in the account's zone [?] (§12)."""
    text = value.strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


class FieldRegistry:
    """Custom fields of one account, per module (contacts, sales_accounts, deals).

    Args:
        new_id: allocates a numeric id.
        zone: the account's time zone, for datetime values.
    """

    def __init__(self, new_id: Callable[[], int], zone):
        self._new_id, self.zone = new_id, zone
        self.custom: dict[str, dict[int, dict]] = {m: {} for m in STANDARD_FIELDS}
        self.forms = {m: {"id": 5000 + i, "name": "Default form", "is_default": True}
                      for i, m in enumerate(STANDARD_FIELDS)}

    def clear(self) -> None:
        for fields in self.custom.values():
            fields.clear()

    def check_form(self, module: str, form_id: str) -> None:
        if str(self.forms[module]["id"]) != str(form_id):
            raise ApiError(404, f"Form {form_id} not found")

    def listing(self, module: str) -> list[dict]:
        """Standard then custom fields, as the settings endpoint lists them."""
        out = [{"id": 9000 + i, "name": name, "label": label, "type": ftype, "required": False, "default": True,
                "visible": True, "choices": []}
               for i, (name, (label, ftype)) in enumerate(STANDARD_FIELDS[module].items())]
        return out + [dict(f) for f in self.custom[module].values()]

    def create(self, module: str, body: dict) -> dict:
        label = body["label"].strip()
        name = "cf_" + snake(label)
        if name == "cf_":
            raise ApiError(400, "Label must contain a letter or digit")
        if any(f["name"] == name or f["label"].lower() == label.lower() for f in self.custom[module].values()):
            raise ApiError(400, f"A field with the label '{label}' already exists")
        ftype = _CODE_TO_TYPE[body["field_type"]]
        choices = [c["value"] for c in body.get("choices") or []]
        if ftype in ("dropdown", "multi_select_dropdown") and not choices:
            raise ApiError(400, "choices can't be blank for a dropdown field")
        if len(set(choices)) != len(choices):
            raise ApiError(400, "choices must be unique")
        field = {"id": self._new_id(), "name": name, "label": label, "type": ftype,
                 "required": bool(body.get("required", False)), "default": False, "visible": True,
                 "choices": [{"id": self._new_id(), "value": v} for v in choices]}
        self.custom[module][field["id"]] = field
        return dict(field)

    def delete(self, module: str, field_id: str) -> str:
        try:
            field = self.custom[module].pop(int(field_id))
        except (KeyError, ValueError):
            raise ApiError(404, f"Field {field_id} not found") from None
        return field["name"]

    def required_custom(self, module: str) -> list[str]:
        return [f["name"] for f in self.custom[module].values() if f["required"]]

    def by_name(self, module: str) -> dict[str, dict]:
        return {f["name"]: f for f in self.custom[module].values()}

    def check_values(self, module: str, values: dict) -> tuple[dict, list[str]]:
        """Validated custom values (null clears) and the problems found, by ``cf_`` name."""
        known, out, problems = self.by_name(module), {}, []
        for name, value in values.items():
            field = known.get(name)
            if field is None:
                problems.append(f"custom_field.{name}: no such field")  # unknown property
                continue
            if value is None or value == "":
                out[name] = None
                continue
            try:
                out[name] = self._value(field, value)
            except (TypeError, ValueError) as e:
                problems.append(f"custom_field.{name}: {e}")
        return out, problems

    def _value(self, field: dict, value: Any) -> Any:
        t, label = field["type"], field["label"]
        choices = [c["value"] for c in field["choices"]]
        if t in ("number", "currency"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{label} must be a number")
            return value
        if t == "checkbox":
            if not isinstance(value, bool):
                raise ValueError(f"{label} must be true or false")
            return value
        if t == "dropdown":
            if value not in choices:
                raise ValueError(f"'{value}' is not a choice of {label} (choices: {', '.join(choices)})")
            return value
        if t == "multi_select_dropdown":
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in choices]
            if bad:
                raise ValueError(f"{', '.join(map(str, bad))} not a choice of {label} (choices: {', '.join(choices)})")
            return values
        if not isinstance(value, str):
            raise ValueError(f"{label} must be a string")
        if t == "date":
            date.fromisoformat(value)
            return value
        if t == "datetime":
            try:
                return parse_timestamp(value, self.zone)
            except ValueError:
                raise ValueError(f"{label} must be an ISO 8601 date-time") from None
        if t == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError(f"{label} must be an email address")
        return value

    def render(self, module: str, values: dict, render_time: Callable[[datetime], str]) -> dict:
        """Every custom field of the module, null when unset, as responses carry them."""
        out = {}
        for field in self.custom[module].values():
            v = values.get(field["name"])
            out[field["name"]] = render_time(v) if isinstance(v, datetime) else v
        return out

