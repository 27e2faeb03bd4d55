"""Custom fields in the HighLevel sandbox: the two APIs HighLevel has for them.

* Location custom fields (apps/locations.json, ``/locations/{id}/customFields``) for contacts
  and opportunities; values travel in a record's ``customFields: [{id, field_value}]`` (§4).
* Custom Fields V2 (apps/custom-fields.json, ``/custom-fields/``) for custom objects and
  companies ("business"), grouped in folders (``parentId`` is required); values travel in an
  object record's ``properties`` keyed by the field's short key (§4 "Custom objects").
"""

from __future__ import annotations

from datetime import date
from typing import Any

from .common import ApiError, now_iso, snake

__all__ = ["FieldStore", "DATA_TYPES", "PICKLISTS", "check_location_value", "check_property_value"]

#: dataType values (apps/custom-fields.json enum, research §4 "Custom fields")
DATA_TYPES = {"TEXT", "LARGE_TEXT", "NUMERICAL", "PHONE", "MONETORY", "CHECKBOX", "SINGLE_OPTIONS",
              "MULTIPLE_OPTIONS", "DATE", "TEXTBOX_LIST", "FILE_UPLOAD", "RADIO", "EMAIL"}
PICKLISTS = {"SINGLE_OPTIONS", "MULTIPLE_OPTIONS", "CHECKBOX", "RADIO"}
#: custom-field v2 object keys that are not custom objects (§4: "Only supports Custom Objects and Company")
STANDARD_V2_OBJECTS = {"business"}


class FieldStore:
    """Mixin of :class:`~.state.State`: both custom-field APIs and their value rules."""

    custom_fields: dict[str, dict]
    fields_v2: dict[str, dict]
    folders: dict[str, dict]

    # --- location custom fields (contacts, opportunities) ---------------------------------
    def create_custom_field(self, body: dict) -> dict:
        with self.lock:
            dtype, model = body["dataType"], body.get("model", "contact")
            if dtype not in DATA_TYPES:
                raise ApiError(422, [f"dataType must be one of the following values: {', '.join(sorted(DATA_TYPES))}"])
            # How picklist options are passed is a documented gap (§10); accept `options`
            # (strings or {key,label}, as in apps/custom-fields.json) and `picklistOptions`.
            raw = body.get("options", body.get("picklistOptions")) or []
            options = [o["label"] if isinstance(o, dict) else str(o) for o in raw]
            if dtype in PICKLISTS and not options:
                raise ApiError(422, ["options should not be empty"])
            key = body.get("fieldKey") or f"{model}.{snake(body['name'])}"
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

    def get_custom_field(self, fid: str) -> dict:
        with self.lock:
            f = self.custom_fields.get(fid)
            if f is None:
                raise ApiError(404, "Custom field not found")
            return f

    def delete_custom_field(self, fid: str) -> None:
        with self.lock:
            if self.custom_fields.pop(fid, None) is None:
                raise ApiError(404, "Custom field not found")
            for rec in [*self.contacts.values(), *self.opportunities.values()]:
                rec["customFields"].pop(fid, None)

    def custom_values(self, items: list, model: str, current: dict) -> dict:
        """Validate and merge custom-field values (§4: accept field_value and fieldValue)."""

        def entries():
            for item in items:
                fid = item.get("id")
                field = self.custom_fields.get(fid) if fid else None
                if field is None or field["model"] != model:
                    yield f"customFields: no {model} custom field with id {fid}"
                    continue
                value = item["field_value"] if "field_value" in item else item.get("fieldValue")
                if value is None:
                    # null matches none of the typed item schemas (TextField … MultiSelectField in
                    # apps/contacts.json declare string / string[] / object, none nullable): refused
                    yield f"customFields: field_value of {fid} must be a string, a number or a list, not null"
                    continue
                yield fid, field, value

        return merge_values(current, entries(), check_location_value)

    # --- custom fields v2 (custom objects, business) --------------------------------------
    def _check_object_key(self, object_key: str) -> None:
        if object_key not in STANDARD_V2_OBJECTS and object_key not in self.schemas:
            raise ApiError(400, f"Object {object_key} not found. Custom fields v2 support custom objects and business only")

    def create_folder(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body["locationId"])
            self._check_object_key(body["objectKey"])
            folder = {"id": self.new_hex_id(), "objectKey": body["objectKey"], "locationId": self.location_id,
                      "name": body["name"]}
            self.folders[folder["id"]] = folder
            return folder

    def delete_folder(self, folder_id: str, location_id: str) -> dict:
        with self.lock:
            self.check_location(location_id)
            folder = self.folders.get(folder_id)
            if folder is None:
                raise ApiError(404, "Folder not found")
            # Sandbox choice (the vendor does not document it): a folder holding fields is kept,
            # so deleting it can never silently take fields and their values with it.
            if any(f["parentId"] == folder_id for f in self.fields_v2.values()):
                raise ApiError(400, "Folder is not empty; delete its fields first")
            del self.folders[folder_id]
            return {"succeded": True, "id": folder_id, "key": folder["name"]}

    def create_field_v2(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body["locationId"])
            object_key = body["objectKey"]
            self._check_object_key(object_key)
            folder = self.folders.get(body["parentId"])
            if folder is None or folder["objectKey"] != object_key:
                raise ApiError(400, f"parentId {body['parentId']} is not a folder of {object_key}")
            key = body["fieldKey"]
            if not key.startswith(object_key + ".") or len(key) <= len(object_key) + 1:
                raise ApiError(422, [f"fieldKey must look like {object_key}.<field>, got {key}"])
            if any(f["fieldKey"] == key for f in self.fields_v2.values()):
                raise ApiError(400, f"A custom field with key {key} already exists")
            dtype = body["dataType"]
            options = [dict(o) for o in body.get("options") or []]
            if dtype in PICKLISTS and not options:
                raise ApiError(422, ["options should not be empty"])
            if len({o["key"] for o in options}) != len(options):
                raise ApiError(422, ["options must have unique keys"])
            now = now_iso()
            field = {"id": self.new_hex_id(), "locationId": self.location_id, "name": body.get("name") or key.rsplit(".", 1)[1],
                     "description": body.get("description", ""), "placeholder": body.get("placeholder", ""),
                     "showInForms": body["showInForms"], "options": options, "objectKey": object_key,
                     "dataType": dtype, "parentId": body["parentId"], "fieldKey": key,
                     "allowCustomOption": bool(body.get("allowCustomOption", False)),
                     "maxFileLimit": body.get("maxFileLimit", 0), "dateAdded": now, "dateUpdated": now}
            if body.get("acceptedFormats"):
                field["acceptedFormats"] = body["acceptedFormats"]
            self.fields_v2[field["id"]] = field
            return field

    def get_field_v2(self, fid: str) -> dict:
        with self.lock:
            f = self.fields_v2.get(fid)
            if f is None:
                raise ApiError(404, "Custom field not found")
            return f

    def update_field_v2(self, fid: str, body: dict) -> dict:
        with self.lock:
            self.check_location(body["locationId"])
            f = self.get_field_v2(fid)
            if "options" in body:
                # Updating options replaces the list, but existing options cannot be removed (§4).
                new = [dict(o) for o in body["options"] or []]
                gone = {o["key"] for o in f["options"]} - {o["key"] for o in new}
                if gone:
                    raise ApiError(400, f"Options cannot be removed: {', '.join(sorted(gone))}")
                f["options"] = new
            for k in ("name", "description", "placeholder", "showInForms", "acceptedFormats", "maxFileLimit"):
                if k in body:
                    f[k] = body[k]
            f["dateUpdated"] = now_iso()
            return f

    def delete_field_v2(self, fid: str) -> dict:
        with self.lock:
            f = self.fields_v2.pop(fid, None)
            if f is None:
                raise ApiError(404, "Custom field not found")
            short = short_key(f)
            for rec in self.property_holders(f["objectKey"]):
                rec["properties"].pop(short, None)
            return {"succeded": True, "id": fid, "key": f["fieldKey"]}

    def fields_of(self, object_key: str) -> dict[str, dict]:
        """The v2 fields of ``object_key`` by short key (the key records use in ``properties``)."""
        return {short_key(f): f for f in self.fields_v2.values() if f["objectKey"] == object_key}

    def list_fields_v2(self, object_key: str, location_id: str) -> dict:
        with self.lock:
            self.check_location(location_id)
            self._check_object_key(object_key)
            return {"fields": [f for f in self.fields_v2.values() if f["objectKey"] == object_key],
                    "folders": [f for f in self.folders.values() if f["objectKey"] == object_key]}

    def properties(self, object_key: str, given: dict, current: dict) -> dict:
        """Validate and merge record ``properties`` against the object's v2 fields.

        Unknown properties and invalid values are 422s with every problem listed; ``None``
        clears a property.
        """
        fields = self.fields_of(object_key)
        entries = (f"property {k} does not exist on {object_key}" if fields.get(k) is None else (k, fields[k], v)
                   for k, v in given.items())
        return merge_values(current, entries, check_property_value)


def merge_values(current: dict, entries, check) -> dict:
    """A copy of ``current`` with checked values merged in; every problem in one 422.

    Args:
        current: the record's stored values by key.
        entries: per given value, ``(key, field, value)`` or a problem already found (a string).
        check: ``(field, value) -> stored value``, raising ValueError with the vendor's message.

    An empty value (``None``, ``""``, ``[]``) clears the key: it is the field's value-less form.
    """
    out, errors = dict(current), []
    for entry in entries:
        if isinstance(entry, str):
            errors.append(entry)
            continue
        key, field, value = entry
        if value is None or value == "" or value == []:
            out.pop(key, None)
            continue
        try:
            out[key] = check(field, value)
        except ValueError as e:
            errors.append(str(e))
    if errors:
        raise ApiError(422, errors)
    return out


def short_key(field: dict) -> str:
    return field["fieldKey"][len(field["objectKey"]) + 1:]


def check_location_value(field: dict, value: Any) -> Any:
    """One location custom-field value checked against its field's dataType (§4 value types)."""
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
            date.fromisoformat(str(value)[:10])
        except ValueError:
            raise ValueError(f"{name} must be a date (YYYY-MM-DD)") from None
        return value
    if t == "FILE_UPLOAD":  # {uuid: {meta, url, documentId}} (contacts.json FileField example, §4)
        if not isinstance(value, dict) or not all(isinstance(v, dict) and v.get("url") for v in value.values()):
            raise ValueError(f"{name} must be an object of uploaded files keyed by uuid, each with a url")
        return value
    if t == "EMAIL" and "@" not in str(value):
        raise ValueError(f"{name} must be an email")
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def check_property_value(field: dict, value: Any) -> Any:
    """One object-record property checked against its v2 field (§4 "Custom objects": money as
    ``{currency, value}``, dates ``YYYY-MM-DD``, pick-lists by option key, multi-selects as lists)."""
    t, name = field["dataType"], field["fieldKey"]
    keys = [o["key"] for o in field["options"]]
    if t == "NUMERICAL":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number")
        return value
    if t == "MONETORY":
        amount = value.get("value") if isinstance(value, dict) else value
        if isinstance(amount, bool) or not isinstance(amount, (int, float)):
            raise ValueError(f"{name} must be an amount: {{\"currency\": \"default\", \"value\": <number>}}")
        return {"currency": value.get("currency", "default") if isinstance(value, dict) else "default", "value": amount}
    if t in ("SINGLE_OPTIONS", "RADIO"):
        if value not in keys:
            raise ValueError(f"{value} is not a valid option for {name} (options: {', '.join(keys)})")
        return value
    if t in ("MULTIPLE_OPTIONS", "CHECKBOX"):
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v not in keys]
        if bad and not field.get("allowCustomOption"):
            raise ValueError(f"{', '.join(map(str, bad))} is not a valid option for {name} (options: {', '.join(keys)})")
        return values
    if t == "DATE":
        try:
            date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{name} must be a date (YYYY-MM-DD)") from None
        return value
    if t == "FILE_UPLOAD":
        if not isinstance(value, list) or not all(isinstance(v, dict) and v.get("url") for v in value):
            raise ValueError(f"{name} must be a list of {{\"url\": ...}}")
        return value
    if t == "EMAIL" and "@" not in str(value):
        raise ValueError(f"{name} must be an email")
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value
