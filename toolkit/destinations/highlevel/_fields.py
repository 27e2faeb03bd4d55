"""The location's custom fields, by our key, for every object - across HighLevel's two APIs.

* contact, opportunity: location custom fields (``/locations/{id}/customFields``; fieldKey
  ``contact.<key>`` / ``opportunity.<key>``), research highlevel.md §4.
* company and ``custom_object:<name>``: Custom Fields V2 (``/custom-fields/``; objectKey
  ``business`` / ``custom_objects.<name>``, fieldKey ``<objectKey>.<key>``), which must sit in a
  folder (``parentId`` is required): the adapter files its fields in one folder per object,
  "Migrated fields", created on first use.
* task, note, event, file: HighLevel gives them no custom fields at all. They still carry our
  ``source_id`` (resume and reconciliation need it), as a last line of their text - see
  :mod:`._text` - so the catalog reports that one virtual field and refuses any other.
"""

from __future__ import annotations

import threading
from typing import Any

from ...errors import FatalError, MappingError, NotFoundError
from .._base import SOURCE_ID_FIELD, CustomField
from ._api import Api
from ._values import CHECKBOX_OPTION, DATETIME_PLACEHOLDER, TYPE_TO_HL, field_type, option_key

__all__ = ["FieldCatalog", "LOCATION_OBJECTS", "TEXT_OBJECTS", "FOLDER_NAME", "object_key"]

LOCATION_OBJECTS = ("contact", "opportunity")
#: objects with no custom fields of their own: the Source ID rides in their text (availability: not at all)
TEXT_OBJECTS = ("task", "note", "event", "file", "availability")
FOLDER_NAME = "Migrated fields"
CUSTOM_PREFIX = "custom_object:"


def object_key(object: str) -> str:
    """HighLevel's objectKey for one of our V2 objects (``company`` -> ``business``)."""
    if object == "company":
        return "business"
    if object.startswith(CUSTOM_PREFIX) and len(object) > len(CUSTOM_PREFIX):
        return "custom_objects." + object[len(CUSTOM_PREFIX):]
    raise MappingError(f"HighLevel has no object {object!r}")


class FieldCatalog:
    """Cached key <-> id maps of the location's custom fields, refreshed on a miss."""

    def __init__(self, api: Api, location_id: str):
        self.api, self.location_id = api, location_id
        self._cache: dict[str, dict[str, CustomField]] = {}
        self._option_keys: dict[str, dict[str, str]] = {}  # v2 field id -> {label: option key}
        self._folders: dict[str, str] = {}  # objectKey -> id of our folder
        self._ensuring = threading.Lock()  # engine workers ensure the adapter's own fields at once

    # --- reading -------------------------------------------------------------------------
    def list(self, object: str) -> list[CustomField]:
        """The fields of ``object`` as the destination has them now; refreshes the cache."""
        if object in TEXT_OBJECTS:
            fields = [CustomField(SOURCE_ID_FIELD, "Source ID", "text", object, id=f"text:{object}")]
        elif object in LOCATION_OBJECTS:
            data = self.api.request("GET", f"/locations/{self.location_id}/customFields", params={"model": object})
            fields = [self._from_location(f) for f in data.get("customFields", []) if f.get("model", object) == object]
        else:
            okey = object_key(object)
            data = self.api.request("GET", f"/custom-fields/object-key/{okey}", params={"locationId": self.location_id})
            fields = [self._from_v2(object, okey, f) for f in data.get("fields", [])]
            mine = next((f["id"] for f in data.get("folders", []) if f.get("name") == FOLDER_NAME), None)
            if mine:
                self._folders[okey] = mine
        self._cache[object] = {f.key: f for f in fields}
        return fields

    def by_key(self, object: str) -> dict[str, CustomField]:
        if object not in self._cache:
            self.list(object)
        return self._cache[object]

    def by_id(self, object: str, fid: str | None) -> CustomField | None:
        def find() -> CustomField | None:
            return next((f for f in self.by_key(object).values() if f.id == fid), None)
        found = find()
        if found is None and fid:  # created since we cached: refresh once
            self.list(object)
            found = find()
        return found

    def require(self, object: str, key: str) -> CustomField:
        """The field ``key`` of ``object``, or a MappingError saying to provision it."""
        f = self.by_key(object).get(key)
        if f is None or f.id is None:
            raise MappingError(f"{object} custom field {key!r} does not exist in the location; provision it first")
        return f

    def option_keys(self, f: CustomField) -> dict[str, str] | None:
        return self._option_keys.get(f.id or "")

    def forget(self, object: str) -> None:
        self._cache.pop(object, None)

    # --- writing -------------------------------------------------------------------------
    def create(self, spec: CustomField) -> CustomField:
        """Create ``spec`` in the API its object uses; returns it with the destination's id."""
        if spec.type not in TYPE_TO_HL:
            raise MappingError(f"custom field {spec.key}: unknown type {spec.type!r} (known: {', '.join(TYPE_TO_HL)})")
        if spec.type in ("single_option", "multiple_options") and not spec.options:
            raise MappingError(f"custom field {spec.key}: a {spec.type} field needs options")
        if spec.object in TEXT_OBJECTS:
            if spec.key == SOURCE_ID_FIELD:
                return self.by_key(spec.object)[SOURCE_ID_FIELD]
            raise MappingError(f"HighLevel {spec.object}s have no custom fields; {spec.key!r} cannot be created "
                               "(map it into the text, or onto the contact)")
        if spec.object in LOCATION_OBJECTS:
            made = self._create_location(spec)
        else:
            made = self._create_v2(spec)
        self.by_key(spec.object)[made.key] = made
        return made

    def _create_location(self, spec: CustomField) -> CustomField:
        body: dict[str, Any] = {"name": spec.name, "dataType": TYPE_TO_HL[spec.type], "model": spec.object,
                                # fieldKey is accepted though undocumented (§4, issue #300)
                                "fieldKey": f"{spec.object}.{spec.key}"}
        if spec.type == "datetime":
            body["placeholder"] = DATETIME_PLACEHOLDER
        if spec.type == "checkbox":
            body["options"] = [CHECKBOX_OPTION]
        elif spec.options:
            # how options are passed here is a documented gap (§10); `options` is the name the
            # v2 custom-fields API uses (apps/custom-fields.json)
            body["options"] = list(spec.options)
        data = self.api.request("POST", f"/locations/{self.location_id}/customFields", json=body)
        return self._from_location(data["customField"])

    def _create_v2(self, spec: CustomField) -> CustomField:
        okey = object_key(spec.object)
        body: dict[str, Any] = {"locationId": self.location_id, "name": spec.name, "dataType": TYPE_TO_HL[spec.type],
                                "fieldKey": f"{okey}.{spec.key}", "objectKey": okey, "showInForms": True,
                                "parentId": self._folder(spec.object, okey)}
        if spec.type == "datetime":
            body["placeholder"] = DATETIME_PLACEHOLDER
        labels = [CHECKBOX_OPTION] if spec.type == "checkbox" else list(spec.options)
        if labels:
            keys = [option_key(label) for label in labels]
            if len(set(keys)) != len(keys):
                raise MappingError(f"custom field {spec.key}: options {labels} collide once made into keys {keys}")
            body["options"] = [{"key": k, "label": label} for k, label in zip(keys, labels)]
        data = self.api.request("POST", "/custom-fields/", json=body)
        return self._from_v2(spec.object, okey, data["field"])

    def _folder(self, object: str, okey: str) -> str:
        if okey not in self._folders:
            self.list(object)  # learns our folder when it exists
        if okey not in self._folders:
            data = self.api.request("POST", "/custom-fields/folder",
                                    json={"objectKey": okey, "name": FOLDER_NAME, "locationId": self.location_id})
            self._folders[okey] = data["id"]
        return self._folders[okey]

    def ensure(self, spec: CustomField) -> CustomField:
        """``spec`` as it exists, creating it first when it does not (fields the adapter itself needs).

        One worker at a time; a create refused because the field now exists (made by another
        process, or a lost answer) finds it instead."""
        with self._ensuring:
            found = self.by_key(spec.object).get(spec.key)
            if found is not None:
                return found
            try:
                return self.create(spec)
            except FatalError:
                found = {f.key: f for f in self.list(spec.object)}.get(spec.key)
                if found is None:
                    raise
                return found

    def delete(self, spec: CustomField) -> None:
        """Delete a custom field (by id, or looked up by key); a missing one is not an error."""
        if spec.object in TEXT_OBJECTS:
            return  # the virtual source_id field: nothing to delete
        fid = spec.id or getattr(self.by_key(spec.object).get(spec.key), "id", None)
        if fid is None:
            return
        path = (f"/locations/{self.location_id}/customFields/{fid}" if spec.object in LOCATION_OBJECTS
                else f"/custom-fields/{fid}")
        try:
            self.api.request("DELETE", path)
        except NotFoundError:
            pass
        self._cache.get(spec.object, {}).pop(spec.key, None)

    # --- shapes --------------------------------------------------------------------------
    def _from_location(self, f: dict) -> CustomField:
        model = f.get("model", "contact")
        key = f.get("fieldKey", "")
        key = key.split(".", 1)[1] if key.startswith(model + ".") else key
        ftype, options = field_type(f.get("dataType", "TEXT"), f.get("placeholder"), list(f.get("picklistOptions") or []))
        return CustomField(key=key, name=f.get("name", key), type=ftype, object=model, options=options, id=f.get("id"))

    def _from_v2(self, object: str, okey: str, f: dict) -> CustomField:
        fkey = f.get("fieldKey", "")
        key = fkey[len(okey) + 1:] if fkey.startswith(okey + ".") else fkey
        opts = f.get("options") or []
        ftype, labels = field_type(f.get("dataType", "TEXT"), f.get("placeholder"), [o["label"] for o in opts])
        self._option_keys[f["id"]] = {o["label"]: o["key"] for o in opts}
        return CustomField(key=key, name=f.get("name") or key, type=ftype, object=object, options=labels, id=f["id"])
