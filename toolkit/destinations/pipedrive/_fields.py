"""Custom fields: our keys <-> the company's 40-character field keys, types and values.

Pipedrive names every custom field by a random 40-character hash that differs in every company
(§4), so the same logical field must be found by name at runtime. A field is created with the
label the mapping gives it; our key is recovered from the label by snake-casing it
(``Recall Interval (months)`` -> ``recall_interval_months``), and where that would not give the
key back the label carries it explicitly (``Patient's balance [balance]``). The catalog caches
key <-> hash per entity and refreshes itself when it meets a hash it does not know.

Persons, organizations and deals have fields of their own (v2 ``personFields``,
``organizationFields``, ``dealFields``); leads carry the deal fields (v1 ``leadFields`` lists
them), so a lead custom field is a deal field. Activities, notes and files have no writable
custom fields (``activityFields`` is read-only; none exist for notes and files).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ...errors import MappingError
from .._base import CustomField
from ._api import Api

__all__ = ["FieldCatalog", "TYPE_TO_PD", "ENTITY_OF", "label_for", "key_from_label"]

#: our field type -> Pipedrive field_type (§4). No boolean type: a checkbox is enum Yes/No; no
#: URL/email/datetime types: those are text (varchar) holding the value as written.
TYPE_TO_PD = {
    "text": "varchar", "large_text": "text", "number": "double", "monetary": "monetary", "date": "date",
    "datetime": "varchar", "checkbox": "enum", "single_option": "enum", "multiple_options": "set",
    "phone": "phone", "email": "varchar",
}
_PD_TO_TYPE = {"varchar": "text", "varchar_auto": "text", "text": "large_text", "double": "number",
               "monetary": "monetary", "date": "date", "enum": "single_option", "set": "multiple_options",
               "phone": "phone"}
CHECKBOX_OPTIONS = ["Yes", "No"]
#: our object -> the field entity holding its custom fields (None: the object has none)
ENTITY_OF = {"person": "person", "organization": "organization", "deal": "deal", "lead": "deal"}
_LABEL_KEY = re.compile(r"^(.*\S)\s+\[([a-z0-9_]+)\]$")


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def label_for(spec: CustomField) -> str:
    """The label to create ``spec`` under: its name, plus ``[key]`` when the name alone would not give the key back."""
    return spec.name if _snake(spec.name) == spec.key else f"{spec.name} [{spec.key}]"


def key_from_label(label: str) -> str:
    m = _LABEL_KEY.match(label)
    return m.group(2) if m else _snake(label)


@dataclass
class _Field:
    spec: CustomField
    code: str
    pd_type: str
    options: dict[str, int]  # label -> option id

    def label_of(self, option_id: Any) -> str | None:
        return next((label for label, oid in self.options.items() if oid == option_id), None)


class FieldCatalog:
    """The company's custom fields per entity, read once and kept current by our own writes.

    Args:
        api: the company's API.
        currency: the currency monetary values are written in.
    """

    def __init__(self, api: Api, currency: str = "USD"):
        self.api, self.currency = api, currency
        self._by_key: dict[str, dict[str, _Field]] = {}
        self._types: dict[str, str] = {}  # field code -> our type, for fields this process created
        # codes a refreshed catalogue did not have (fields made in the app, or by another tool):
        # asked for once, not on every record that carries them
        self._unknown: dict[str, set[str]] = {}
        # a lead's custom fields are the deals' (ENTITY_OF): the two objects are set
        # up side by side, so a field is made under its entity's lock, once
        self._making: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    # --- catalogue ------------------------------------------------------------------------
    def fields(self, entity: str, *, refresh: bool = False) -> dict[str, _Field]:
        if refresh or entity not in self._by_key:
            items = self.api.pages_v2(f"/{entity}Fields")
            found: dict[str, _Field] = {}
            for f in items:
                if not f.get("is_custom_field"):
                    continue
                made = self._field(entity, f)
                found.setdefault(made.spec.key, made)  # the first of two same-named fields wins
            self._by_key[entity] = found
        return self._by_key[entity]

    def _field(self, entity: str, f: dict) -> _Field:
        code, pd_type = f["field_code"], f["field_type"]
        options = {o["label"]: o["id"] for o in f.get("options") or []}
        ours = self._types.get(code) or _PD_TO_TYPE.get(pd_type, "text")
        if pd_type == "enum" and sorted(options) == sorted(CHECKBOX_OPTIONS) and code not in self._types:
            ours = "checkbox"  # how we store a boolean (§4: "enum Yes/No (boolean)")
        opts = [] if ours == "checkbox" else list(options)
        spec = CustomField(key=key_from_label(f["field_name"]), name=_LABEL_KEY.sub(r"\1", f["field_name"]),
                           type=ours, object=entity, options=opts, id=code)
        return _Field(spec, code, pd_type, options)

    def list(self, entity: str, object: str) -> list[CustomField]:
        return [CustomField(**{**f.spec.__dict__, "object": object}) for f in self.fields(entity, refresh=True).values()]

    def create(self, entity: str, spec: CustomField) -> CustomField:
        if spec.type not in TYPE_TO_PD:
            raise MappingError(f"custom field {spec.key}: unknown type {spec.type!r} (known: {', '.join(TYPE_TO_PD)})")
        with self._lock:
            making = self._making.setdefault(entity, threading.Lock())
        with making:
            have = self.fields(entity).get(spec.key)
            if have is not None:  # made a moment ago for the other object on this entity
                return CustomField(**{**have.spec.__dict__, "object": spec.object})
            return self._create(entity, spec)

    def _create(self, entity: str, spec: CustomField) -> CustomField:
        body: dict[str, Any] = {"field_name": label_for(spec), "field_type": TYPE_TO_PD[spec.type]}
        if spec.type == "checkbox":
            body["options"] = [{"label": x} for x in CHECKBOX_OPTIONS]
        elif spec.type in ("single_option", "multiple_options"):
            if not spec.options:
                raise MappingError(f"custom field {spec.key}: a {spec.type} field needs options")
            body["options"] = [{"label": str(x)} for x in dict.fromkeys(spec.options)]
        data = self.api.call("POST", "v2", f"/{entity}Fields", json=body)["data"]
        self._types[data["field_code"]] = spec.type
        made = self._field(entity, data)
        self.fields(entity)[made.spec.key] = made
        return CustomField(**{**made.spec.__dict__, "object": spec.object})

    def delete(self, entity: str, spec: CustomField) -> None:
        from ...errors import NotFoundError

        code = spec.id or getattr(self.fields(entity).get(spec.key), "code", None)
        if code is None:
            return
        try:
            self.api.call("DELETE", "v2", f"/{entity}Fields/{code}")
        except NotFoundError:
            pass
        self._by_key.get(entity, {}).pop(spec.key, None)

    def by_code(self, entity: str, code: str) -> _Field | None:
        found = next((f for f in self.fields(entity).values() if f.code == code), None)
        if found is None and code not in self._unknown.get(entity, set()):  # created since we cached
            found = next((f for f in self.fields(entity, refresh=True).values() if f.code == code), None)
            if found is None:
                self._unknown.setdefault(entity, set()).add(code)
        return found

    def get(self, entity: str, object: str, key: str) -> _Field:
        f = self.fields(entity).get(key)
        if f is None:
            f = self.fields(entity, refresh=True).get(key)
        if f is None:
            raise MappingError(f"{object} custom field {key!r} does not exist in the Pipedrive company; provision it first")
        return f

    # --- values -----------------------------------------------------------------------------
    def to_pipedrive(self, f: _Field, value: Any, object: str) -> Any:
        """Our value -> Pipedrive's v2 value for field ``f`` (§4 value shapes)."""
        if value is None:
            return None
        t = f.spec.type
        if t in ("number", "monetary"):
            try:
                num = float(value) if isinstance(value, (Decimal, str)) else value
            except ValueError:
                raise MappingError(f"{object} custom field {f.spec.key}: {value!r} is not a number") from None
            if isinstance(num, bool) or not isinstance(num, (int, float)):
                raise MappingError(f"{object} custom field {f.spec.key}: {value!r} is not a number")
            return {"value": num, "currency": self.currency} if f.pd_type == "monetary" else num
        if t == "date":
            if isinstance(value, datetime):
                return value.date().isoformat()
            return value.isoformat() if isinstance(value, date) else str(value)[:10]
        if t == "checkbox":
            return self._option(f, CHECKBOX_OPTIONS[0] if value else CHECKBOX_OPTIONS[1], object)
        if t == "single_option":
            return self._option(f, value, object)
        if t == "multiple_options":
            values = value if isinstance(value, (list, tuple, set)) else [value]
            ids = [self._option(f, v, object) for v in values]
            return sorted(set(ids)) or None  # [] is a validation error; null clears (§4)
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        return str(value)

    def _option(self, f: _Field, label: Any, object: str) -> int:
        text = str(label)
        if text in f.options:
            return f.options[text]
        folded = {k.casefold(): v for k, v in f.options.items()}
        if text.casefold() in folded:
            return folded[text.casefold()]
        raise MappingError(f"{object} custom field {f.spec.key}: {text!r} is not one of its options "
                           f"({', '.join(f.options) or 'none'})")

    def from_pipedrive(self, f: _Field, value: Any) -> Any:
        """Pipedrive's value -> ours, so a read-back compares equal to what we wrote."""
        if value is None:
            return None
        t = f.spec.type
        if isinstance(value, dict) and "value" in value and t != "large_text":
            value = value["value"]
        if t == "checkbox":
            return f.label_of(value) == CHECKBOX_OPTIONS[0]
        if t == "single_option":
            return f.label_of(value)
        if t == "multiple_options":
            ids = value if isinstance(value, list) else [int(x) for x in str(value).split(",") if x.strip()]
            return [f.label_of(i) for i in ids]
        return value
