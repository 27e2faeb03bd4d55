"""Custom object schemas and records in the HighLevel sandbox (apps/objects.json, research §4).

* Schemas: ``POST /objects/`` creates ``custom_objects.<name>`` with its primary display
  property (a TEXT or NUMERICAL field); ``GET /objects/`` also lists the standard objects
  (contact, opportunity, business). The API has no schema delete (research §5).
* Records: ``properties`` keyed by each field's short key (the part after
  ``custom_objects.<name>.``), ``owner`` (at most one user), ``followers`` (at most ten).
  ``business`` works as a schema key too: its records are the businesses, and through it a
  business's Custom Fields V2 values are read and written.
"""

from __future__ import annotations

import re
from typing import Any

from .common import ApiError, ms_of, now_iso

__all__ = ["ObjectStore", "CUSTOM_PREFIX", "STANDARD_OBJECTS"]

CUSTOM_PREFIX = "custom_objects."
STANDARD_OBJECTS = ("contact", "opportunity", "business")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CREATED_BY = {"channel": "API", "source": "INTEGRATION", "sourceId": ""}


class ObjectStore:
    """Mixin of :class:`~.state.State`: custom object schemas and records."""

    schemas: dict[str, dict]
    records: dict[str, dict]

    # --- schemas ------------------------------------------------------------------------
    def create_schema(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body["locationId"])
            key = body["key"] if body["key"].startswith(CUSTOM_PREFIX) else CUSTOM_PREFIX + body["key"]
            name = key[len(CUSTOM_PREFIX):]
            if not _NAME.match(name):
                raise ApiError(422, [f"key must be lower-case letters, digits and underscores: {key}"])
            if key in self.schemas:
                raise ApiError(400, f"Custom object with key {key} already exists")
            labels = body["labels"]
            if any(lb["plural"].lower() == labels["plural"].lower() for lb in (s["labels"] for s in self.schemas.values())):
                raise ApiError(400, f"Custom object with label {labels['plural']} already exists")
            primary = body["primaryDisplayPropertyDetails"]
            if primary["dataType"] not in ("TEXT", "NUMERICAL"):
                raise ApiError(422, ["primaryDisplayPropertyDetails.dataType must be one of the following values: TEXT, NUMERICAL"])
            pkey = primary["key"] if primary["key"].startswith(key + ".") else f"{key}.{primary['key']}"
            now = now_iso()
            schema = {"id": self.new_hex_id(), "standard": False, "key": key,
                      "labels": {"singular": labels["singular"], "plural": labels["plural"]},
                      "description": body.get("description", ""), "locationId": self.location_id,
                      "primaryDisplayProperty": pkey, "dateAdded": now, "dateUpdated": now, "type": "USER_DEFINED",
                      "searchableProperties": [pkey]}
            self.schemas[key] = schema
            # Sandbox choice: the vendor must file the primary property somewhere, and fields v2
            # need a folder, so the schema starts with one folder holding that property.
            folder = self.create_folder({"locationId": self.location_id, "objectKey": key,
                                         "name": f"{labels['singular']} details"})
            self.create_field_v2({"locationId": self.location_id, "objectKey": key, "fieldKey": pkey,
                                  "name": primary["name"], "dataType": primary["dataType"], "showInForms": True,
                                  "parentId": folder["id"]})
            return schema

    def schema(self, key: str) -> dict:
        s = self.schemas.get(key)
        if s is None:
            raise ApiError(404, f"Schema with key {key} not found")
        return s

    def get_schema(self, key: str, location_id: str, with_fields: bool) -> dict:
        with self.lock:
            self.check_location(location_id)
            out: dict[str, Any] = {"object": self.schema(key), "cache": False}
            if with_fields:
                out["fields"] = [f for f in self.fields_v2.values() if f["objectKey"] == key]
            return out

    def update_schema(self, key: str, body: dict) -> dict:
        with self.lock:
            self.check_location(body["locationId"])
            s = self.schema(key)
            known = set(self.fields_of(key))
            bad = [p for p in body["searchableProperties"] if p.split(".")[-1] not in known]
            if bad:
                raise ApiError(422, [f"searchableProperties: {p} is not a field of {key}" for p in bad])
            s["labels"].update(body.get("labels") or {})
            if "description" in body:
                s["description"] = body["description"]
            s["searchableProperties"] = list(body["searchableProperties"])
            s["dateUpdated"] = now_iso()
            return s

    def list_schemas(self, location_id: str) -> list[dict]:
        with self.lock:
            self.check_location(location_id)
            standard = [{"id": f"standard-{k}", "standard": True, "key": k,
                         "labels": {"singular": k.title(), "plural": k.title() + ("es" if k == "business" else "s")},
                         "locationId": self.location_id, "primaryDisplayProperty": "name",
                         "dateAdded": "2021-01-01T00:00:00.000Z", "dateUpdated": "2021-01-01T00:00:00.000Z"}
                        for k in STANDARD_OBJECTS]
            return standard + list(self.schemas.values())

    # --- records ------------------------------------------------------------------------
    def _people(self, body: dict) -> dict:
        owner, followers = body.get("owner"), body.get("followers")
        errors = []
        if owner is not None and len(owner) > 1:
            errors.append("owner must contain no more than 1 elements")
        if followers is not None and len(followers) > 10:
            errors.append("followers must contain no more than 10 elements")
        unknown = [u for u in (owner or []) + (followers or []) if u not in self.user_ids()]
        errors += [f"user {u} does not exist in this location" for u in unknown]
        if errors:
            raise ApiError(422, errors)
        return {k: list(v) for k, v in (("owner", owner), ("followers", followers)) if v is not None}

    def create_record(self, key: str, body: dict) -> dict:
        with self.lock:
            self.check_location(body["locationId"])
            if key == "business":
                raise ApiError(400, "Business records are created through POST /businesses/")
            schema = self.schema(key)
            people = self._people(body)
            props = self.properties(key, body.get("properties") or {}, {})
            primary = schema["primaryDisplayProperty"][len(key) + 1:]
            if props.get(primary) in (None, ""):
                raise ApiError(422, [f"properties.{primary} should not be empty"])
            now = now_iso()
            rec = {"id": self.new_hex_id(), "objectKey": key, "objectId": schema["id"], "locationId": self.location_id,
                   "owner": people.get("owner", []), "followers": people.get("followers", []),
                   "properties": props, "createdAt": now, "updatedAt": now}
            self.records[rec["id"]] = rec
            return self.render_record(rec)

    def _record(self, key: str, rid: str) -> dict:
        if key == "business":
            b = self.businesses.get(rid)
            if b is None:
                raise ApiError(404, "Record not found")
            return b
        self.schema(key)
        rec = self.records.get(rid)
        if rec is None or rec["objectKey"] != key:
            raise ApiError(404, "Record not found")
        return rec

    def get_record(self, key: str, rid: str) -> dict:
        with self.lock:
            return self.render_record(self._record(key, rid), key)

    def update_record(self, key: str, rid: str, location_id: str, body: dict) -> dict:
        with self.lock:
            self.check_location(location_id)
            rec = self._record(key, rid)
            people = self._people(body)
            rec["properties"] = self.properties(key, body.get("properties") or {}, rec.get("properties", {}))
            if key != "business":
                rec.update(people)
            rec["updatedAt"] = now_iso()
            return self.render_record(rec, key)

    def delete_record(self, key: str, rid: str) -> dict:
        with self.lock:
            if key == "business":
                raise ApiError(400, "Business records are deleted through DELETE /businesses/{id}")
            self._record(key, rid)
            del self.records[rid]
            self.drop_relations(rid)
            return {"id": rid, "success": True}

    def search_records(self, key: str, body: dict) -> dict:
        """``page``/``pageLimit`` or a ``searchAfter`` cursor; ``query`` matches property text."""
        with self.lock:
            self.check_location(body["locationId"])
            if key == "business":
                pool = list(self.businesses.values())
            else:
                self.schema(key)
                pool = [r for r in self.records.values() if r["objectKey"] == key]
            q = str(body.get("query") or "").strip().lower()
            if q:
                pool = [r for r in pool if any(q in str(v).lower() for v in r.get("properties", {}).values())]
            pool.sort(key=lambda r: (ms_of(r["createdAt"]), r["id"]))
            limit = int(body.get("pageLimit") or 10)
            if body.get("searchAfter"):
                ms, rid = body["searchAfter"][0], str(body["searchAfter"][1])
                page = [r for r in pool if (ms_of(r["createdAt"]), r["id"]) > (int(ms), rid)][:limit]
            else:
                start = (int(body.get("page") or 1) - 1) * limit
                page = pool[start: start + limit]
            return {"records": [self.render_search_hit(r, key) for r in page], "total": len(pool)}

    def property_holders(self, object_key: str) -> list[dict]:
        """Every stored record whose ``properties`` hold values of ``object_key``'s fields."""
        if object_key == "business":
            return list(self.businesses.values())
        return [r for r in self.records.values() if r["objectKey"] == object_key]

    def render_record(self, rec: dict, key: str | None = None) -> dict:
        return {"id": rec["id"], "owner": list(rec.get("owner", [])), "followers": list(rec.get("followers", [])),
                "properties": dict(rec.get("properties", {})), "dateAdded": rec["createdAt"],
                "dateUpdated": rec["updatedAt"]}

    def render_search_hit(self, rec: dict, key: str) -> dict:
        return {"id": rec["id"], "owner": list(rec.get("owner", [])), "followers": list(rec.get("followers", [])),
                "properties": dict(rec.get("properties", {})), "createdAt": rec["createdAt"],
                "updatedAt": rec["updatedAt"], "locationId": self.location_id,
                "objectId": rec.get("objectId", "standard-business"), "objectKey": key,
                "createdBy": {**_CREATED_BY, "createdAt": rec["createdAt"]},
                "lastUpdatedBy": {**_CREATED_BY, "createdAt": rec["updatedAt"]},
                "searchAfter": [ms_of(rec["createdAt"]), rec["id"]]}
