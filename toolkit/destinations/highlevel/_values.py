"""Custom-field types and values, between the toolkit's neutral shape and HighLevel's two APIs.

* Location custom fields (contacts, opportunities) take ``field_value`` per dataType: text as a
  string, numbers as numbers, CHECKBOX/MULTIPLE_OPTIONS as lists of option labels (research §4).
* Custom Fields V2 (companies, custom objects) take record ``properties``: money as
  ``{"currency": "default", "value": n}``, dates as ``YYYY-MM-DD``, pick-lists by option key
  (research §4 "Custom objects").

Two of our types have no HighLevel dataType of their own:
datetime -> TEXT: a HighLevel DATE field holds a calendar date only, so a date-time stored there
would lose its time of day. As ISO-8601 text it round-trips exactly and still sorts correctly;
the placeholder marks the field so read-back knows its type.
checkbox -> CHECKBOX with one option "Yes": HighLevel's CHECKBOX is a list of ticked options,
not a boolean; one option ticked/unticked is our boolean.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from ...errors import MappingError
from .._base import CustomField

__all__ = ["TYPE_TO_HL", "HL_TO_TYPE", "DATETIME_PLACEHOLDER", "CHECKBOX_OPTION", "plain", "to_location_value",
           "cleared_location_value",
           "from_location_value", "read_location_value", "option_key", "to_property", "from_property",
           "field_type"]

#: our field type -> HighLevel dataType (§4 "Custom fields")
TYPE_TO_HL = {
    "text": "TEXT", "large_text": "LARGE_TEXT", "number": "NUMERICAL", "monetary": "MONETORY",
    "date": "DATE", "datetime": "TEXT", "checkbox": "CHECKBOX",
    "single_option": "SINGLE_OPTIONS", "multiple_options": "MULTIPLE_OPTIONS",
    "phone": "PHONE", "email": "EMAIL",
}
HL_TO_TYPE = {v: k for k, v in TYPE_TO_HL.items() if k != "datetime"} | {"RADIO": "single_option",
                                                                       "TEXTBOX_LIST": "text",
                                                                       "FILE_UPLOAD": "text"}
DATETIME_PLACEHOLDER = "ISO 8601 date-time, e.g. 2024-05-01T14:30:00Z"
CHECKBOX_OPTION = "Yes"


def field_type(data_type: str, placeholder: str | None, labels: list[str]) -> tuple[str, list[str]]:
    """Our (type, options) for a HighLevel field, undoing the two encodings above."""
    ftype = HL_TO_TYPE.get(data_type, "text")
    if data_type == "TEXT" and placeholder == DATETIME_PLACEHOLDER:
        return "datetime", []
    if data_type == "CHECKBOX":
        return ("checkbox", []) if labels == [CHECKBOX_OPTION] else ("multiple_options", labels)
    return ftype, labels if ftype in ("single_option", "multiple_options") else []


def plain(v: Any) -> Any:
    """JSON-able: Decimals as floats, dates and datetimes as ISO strings."""
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


#: dataTypes whose ``field_value`` is a list (CheckboxField / MultiSelectField in apps/contacts.json)
LIST_TYPES = ("checkbox", "multiple_options")


def cleared_location_value(f: CustomField) -> Any:
    """The ``field_value`` that empties a location custom field.

    HighLevel documents no "clear" operation. What the specs do fix is the value's type: every
    typed item schema in apps/contacts.json (TextField, LargeTextField, SingleSelectField,
    RadioField, NumericField, MonetoryField, CheckboxField, MultiSelectField, FileField) and
    ``customFieldsInput{String,Array,Object}Schema`` in apps/opportunities.json declares
    ``field_value`` as ``string``, ``string[]`` or ``object`` and none is ``nullable`` - so
    ``field_value: null`` matches no schema and is the 422 "customFields.N has an invalid value"
    (422 body: research §1). The empty form of each declared type does validate: ``[]`` for the
    list types (CHECKBOX, MULTIPLE_OPTIONS), ``""`` (TextField) for every other type, numbers and
    dates included. That the live API then stores "no value" rather than an empty string is not
    documented (unverified); read-back treats ``""``/``[]`` as no value either way
    (:func:`from_location_value`).
    """
    return [] if f.type in LIST_TYPES else ""


def to_location_value(f: CustomField, value: Any) -> Any:
    """Our value -> a location custom field's ``field_value`` (§4 value types); None (no value)
    becomes the type's empty form (:func:`cleared_location_value`), never ``null``."""
    if value is None:
        return cleared_location_value(f)
    t = f.type
    if t in ("number", "monetary"):
        return float(value) if isinstance(value, (Decimal, str)) else value
    if t == "date":
        return value.date().isoformat() if isinstance(value, datetime) else plain(value)
    if t == "datetime":
        return plain(value)
    if t == "checkbox":
        return [CHECKBOX_OPTION] if value else []
    if t == "multiple_options":
        return list(value) if isinstance(value, (list, tuple, set)) else [value]
    return str(value)


def from_location_value(f: CustomField, value: Any) -> Any:
    """A location custom field's value -> ours, so a read-back compares equal to what we wrote."""
    t = f.type
    if value is None or value == [] or (isinstance(value, str) and not value.strip()):
        # a cleared field may come back empty instead of absent: it holds no value
        return False if t == "checkbox" else None
    if t == "checkbox":
        return CHECKBOX_OPTION in (value if isinstance(value, list) else [value])
    if t == "date":
        if isinstance(value, (int, float)):  # epoch milliseconds
            return datetime.fromtimestamp(value / 1000, timezone.utc).date().isoformat()
        return str(value)[:10]
    if t == "multiple_options" and not isinstance(value, list):
        return [value]
    return value


def read_location_value(item: dict) -> Any:
    """The value in one read-back ``customFields`` item: contacts give ``{id, value}``,
    opportunities ``{id, fieldValue}`` and per issue #87 also typed variants (§4)."""
    for k in ("value", "fieldValue", "field_value"):
        if k in item:
            return item[k]
    return next((v for k, v in item.items() if k.startswith("fieldValue")), None)


def option_key(label: str) -> str:
    """The v2 option key we give a pick-list label (keys are what record values carry)."""
    key = re.sub(r"[^a-z0-9]+", "_", str(label).strip().lower()).strip("_")
    return key or "option"


def _keys(f: CustomField, keys: dict[str, str] | None) -> dict[str, str]:
    if keys:
        return keys
    labels = [CHECKBOX_OPTION] if f.type == "checkbox" else list(f.options)
    return {label: option_key(label) for label in labels}


def to_property(f: CustomField, value: Any, keys: dict[str, str] | None = None) -> Any:
    """Our value -> a Custom Fields V2 record property (§4 "Custom objects").

    Args:
        keys: the field's option label -> key map as the destination has it (default: the keys
            this adapter gives labels when it creates a field).
    """
    if value is None:
        return None
    t = f.type
    if t == "number":
        return float(value) if isinstance(value, (Decimal, str)) else value
    if t == "monetary":
        return {"currency": "default", "value": float(value) if isinstance(value, (Decimal, str)) else value}
    if t == "date":
        return value.date().isoformat() if isinstance(value, datetime) else str(plain(value))[:10]
    if t == "datetime":
        return plain(value)
    keys = _keys(f, keys)
    if t == "checkbox":
        return [keys[CHECKBOX_OPTION]] if value else []
    if t in ("single_option", "multiple_options"):
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        missing = [v for v in values if v not in keys]
        if missing:
            raise MappingError(f"{f.object} custom field {f.key}: {', '.join(map(str, missing))} is not one of its "
                               f"options ({', '.join(keys)})")
        return keys[values[0]] if t == "single_option" else [keys[v] for v in values]
    return str(value)


def from_property(f: CustomField, value: Any, keys: dict[str, str] | None = None) -> Any:
    """A V2 record property -> our value (option keys back to labels, money to a number)."""
    if value is None:
        return None
    t = f.type
    labels = {k: label for label, k in _keys(f, keys).items()}
    if t == "monetary":
        return value.get("value") if isinstance(value, dict) else value
    if t == "checkbox":
        return bool(value) and labels.get((value if isinstance(value, list) else [value])[0]) == CHECKBOX_OPTION
    if t == "single_option":
        return labels.get(value, value)
    if t == "multiple_options":
        return [labels.get(v, v) for v in (value if isinstance(value, list) else [value])]
    return value
