"""Associations and relations in the HighLevel sandbox (apps/associations.json, research §4).

An association is the schema-level link between two object keys, created once (e.g.
``custom_objects.insurance_record`` ↔ ``contact``); a relation links two records through it,
``firstRecordId`` being a record of ``firstObjectKey``. Only contact↔contact and
contact↔custom-object associations exist (research §4). Deleting an association deletes all its
relations (research §5).
"""

from __future__ import annotations

from .common import ApiError, now_iso
from .objects import CUSTOM_PREFIX

__all__ = ["AssociationStore"]


class AssociationStore:
    """Mixin of :class:`~.state.State`: associations and relations."""

    associations: dict[str, dict]
    relations: dict[str, dict]

    def _object_exists(self, key: str) -> bool:
        return key == "contact" or (key.startswith(CUSTOM_PREFIX) and key in self.schemas)

    def create_association(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body["locationId"])
            first, second = str(body["firstObjectKey"]), str(body["secondObjectKey"])
            for k in (first, second):
                if not self._object_exists(k):
                    raise ApiError(400, f"Object {k} not found")
            if "contact" not in (first, second):
                raise ApiError(400, "Associations are supported between contacts, and between a contact and a custom object")
            if any(a["key"] == body["key"] for a in self.associations.values()):
                raise ApiError(400, f"Association with key {body['key']} already exists")
            a = {"id": self.new_hex_id(), "locationId": self.location_id, "key": body["key"],
                 "firstObjectLabel": body["firstObjectLabel"], "firstObjectKey": first,
                 "secondObjectLabel": body["secondObjectLabel"], "secondObjectKey": second,
                 "associationType": "USER_DEFINED"}
            self.associations[a["id"]] = a
            return a

    def association(self, aid: str) -> dict:
        a = self.associations.get(aid)
        if a is None:
            raise ApiError(404, "Association not found")
        return a

    def association_by_key(self, key: str, location_id: str) -> dict:
        with self.lock:
            self.check_location(location_id)
            a = next((a for a in self.associations.values() if a["key"] == key), None)
            if a is None:
                raise ApiError(404, f"Association with key {key} not found")
            return a

    def list_associations(self, location_id: str, skip: int, limit: int) -> dict:
        with self.lock:
            self.check_location(location_id)
            items = list(self.associations.values())
            return {"associations": items[skip: skip + limit], "total": len(items)}

    def delete_association(self, aid: str) -> dict:
        with self.lock:
            self.association(aid)
            del self.associations[aid]
            for rid in [r["id"] for r in self.relations.values() if r["associationId"] == aid]:
                del self.relations[rid]
            return {"deleted": True, "id": aid, "message": "Association deleted successfully"}

    def _record_of(self, object_key: str, rid: str) -> bool:
        if object_key == "contact":
            return rid in self.contacts
        rec = self.records.get(rid)
        return rec is not None and rec["objectKey"] == object_key

    def create_relation(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body["locationId"])
            a = self.association(body["associationId"])
            first, second = body["firstRecordId"], body["secondRecordId"]
            errors = [f"{name} {rid} is not a record of {key}" for name, rid, key in
                      (("firstRecordId", first, a["firstObjectKey"]), ("secondRecordId", second, a["secondObjectKey"]))
                      if not self._record_of(key, rid)]
            if errors:
                raise ApiError(400, "; ".join(errors))
            if any(r["associationId"] == a["id"] and r["firstRecordId"] == first and r["secondRecordId"] == second
                   for r in self.relations.values()):
                raise ApiError(400, "Relation already exists")
            rel = {"id": self.new_hex_id(), "associationId": a["id"], "firstRecordId": first, "secondRecordId": second,
                   "locationId": self.location_id, "createdAt": now_iso()}
            self.relations[rel["id"]] = rel
            return rel

    def relations_of(self, record_id: str, location_id: str, skip: int, limit: int,
                     association_ids: list[str]) -> dict:
        with self.lock:
            self.check_location(location_id)
            hits = [r for r in self.relations.values() if record_id in (r["firstRecordId"], r["secondRecordId"])
                    and (not association_ids or r["associationId"] in association_ids)]
            return {"relations": hits[skip: skip + limit], "total": len(hits)}

    def delete_relation(self, rel_id: str, location_id: str) -> dict:
        with self.lock:
            self.check_location(location_id)
            rel = self.relations.pop(rel_id, None)
            if rel is None:
                raise ApiError(404, "Relation not found")
            return rel

    def drop_relations(self, record_id: str) -> None:
        """Remove every relation touching a deleted record."""
        for rid in [r["id"] for r in self.relations.values() if record_id in (r["firstRecordId"], r["secondRecordId"])]:
            del self.relations[rid]
