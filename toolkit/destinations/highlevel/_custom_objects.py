"""Custom objects: schemas, records and their link to contacts (apps/objects.json,
apps/associations.json; research §4 "Custom objects + associations").

``custom_object:<name>`` is HighLevel's ``custom_objects.<name>``. A record's properties are its
fields: ``Record.fields`` holds the primary display property (the record's name in the UI) and
``Record.custom`` every other property, by our key - which is the property's short key. A
record links to a contact through an association created once per object
(``<name>_contact``, custom object first, contact second) and one relation per record:
``links["contactId"]``. Schemas cannot be deleted through the API (research §5).
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

from ...errors import DestinationError, MappingError, NotFoundError, PartialWriteError
from .._base import SOURCE_ID_FIELD, Record
from ._kinds import Context, Kind, properties_of, read_properties

__all__ = ["CustomObjects", "ensure_schema", "association_key"]

_ASK = object()  # record(): read the contact from the record's relations

PREFIX = "custom_objects."


def association_key(name: str) -> str:
    return f"{name}_contact"


def ensure_schema(ctx: Context, name: str, singular: str, plural: str, primary_field: str) -> dict:
    """The schema ``custom_objects.<name>``, created when missing (``POST /objects/``)."""
    key = PREFIX + name
    try:
        return ctx.api.request("GET", f"/objects/{key}", params={"locationId": ctx.location_id})["object"]
    except NotFoundError:
        pass
    body = {"labels": {"singular": singular, "plural": plural}, "key": key, "locationId": ctx.location_id,
            "primaryDisplayPropertyDetails": {"key": f"{key}.{primary_field}",
                                              "name": primary_field.replace("_", " ").title(), "dataType": "TEXT"}}
    return ctx.api.request("POST", "/objects/", json=body)["object"]


class CustomObjects(Kind):
    """Records of one custom object."""

    def __init__(self, ctx: Context, name: str):
        super().__init__(ctx)
        self.name, self.object, self.key = name, f"custom_object:{name}", PREFIX + name
        self._schema: dict | None = None
        self._association: str | None = None
        # engine workers create records of one object in parallel; only one of them may create
        # the association (a second POST is a 400 "already exists" after the record was made)
        self._association_lock = threading.Lock()

    # --- schema and association ------------------------------------------------------------
    def schema(self) -> dict:
        if self._schema is None:
            try:
                self._schema = self.api.request("GET", f"/objects/{self.key}",
                                                params={"locationId": self.ctx.location_id})["object"]
            except NotFoundError:
                raise MappingError(f"custom object {self.key} does not exist in the location; "
                                   "ensure_custom_object() it first") from None
        return self._schema

    def primary(self) -> str:
        return self.schema()["primaryDisplayProperty"].rsplit(".", 1)[-1]

    def association(self, *, create: bool) -> str | None:
        """The id of this object's association with contacts; created on first need."""
        if self._association is not None:
            return self._association
        with self._association_lock:
            return self._find_or_create_association(create)

    def _find_or_create_association(self, create: bool) -> str | None:
        if self._association is None:
            try:
                self._association = self.api.request("GET", f"/associations/key/{association_key(self.name)}",
                                                     params={"locationId": self.ctx.location_id})["id"]
            except NotFoundError:
                if not create:
                    return None
                self._association = self.api.request("POST", "/associations/", json={
                    "locationId": self.ctx.location_id, "key": association_key(self.name),
                    "firstObjectKey": self.key, "firstObjectLabel": self.schema()["labels"]["singular"],
                    "secondObjectKey": "contact", "secondObjectLabel": "Contact"})["id"]
        return self._association

    def _relations(self, record_id: str) -> list[dict]:
        aid = self.association(create=False)
        if aid is None:
            return []
        data = self.api.request("GET", f"/associations/relations/{record_id}", params={
            "locationId": self.ctx.location_id, "skip": 0, "limit": 100, "associationIds": aid})
        return [r for r in data.get("relations", []) if r.get("associationId") == aid]

    def _relate(self, record_id: str, contact_id: str) -> None:
        self.api.request("POST", "/associations/relations", json={
            "locationId": self.ctx.location_id, "associationId": self.association(create=True),
            "firstRecordId": record_id, "secondRecordId": contact_id})

    # --- records ---------------------------------------------------------------------------
    def _body(self, record: Record) -> dict[str, Any]:
        primary = self.primary()
        stray = sorted(k for k in record.fields if k != primary)
        if stray:
            raise MappingError(f"{self.object}: fields holds only the primary property {primary!r}; "
                               f"put {', '.join(stray)} in custom")
        extra = sorted(set(record.links) - {"contactId"})
        if extra or record.tags or record.remove_tags:
            raise MappingError(f"{self.object} records link only to a contact (contactId) and have no tags")
        body: dict[str, Any] = {"properties": properties_of(self.ctx.fields, self.object,
                                                            {**record.custom, **record.fields})}
        if record.owner_id is not None:
            body["owner"] = [record.owner_id] if record.owner_id else []
        return body

    def create(self, record: Record) -> str:
        body = self._body(record) | {"locationId": self.ctx.location_id}
        new_id = self.api.request("POST", f"/objects/{self.key}/records", json=body)["record"]["id"]
        self.remember(record, new_id)
        if record.links.get("contactId"):
            try:
                self._relate(new_id, record.links["contactId"])
            except DestinationError as exc:
                raise PartialWriteError(f"{self.object} record created, its contact link not made", id=new_id,
                                        cause=exc) from exc
        return new_id

    def update(self, record: Record) -> None:
        self.api.request("PUT", f"/objects/{self.key}/records/{record.id}",
                         params={"locationId": self.ctx.location_id}, json=self._body(record))
        if "contactId" in record.links:
            want = record.links["contactId"] or None
            current = self._relations(record.id)
            if [r["secondRecordId"] for r in current] != ([want] if want else []):
                for r in current:
                    self.quiet_delete(f"/associations/relations/{r['id']}", params={"locationId": self.ctx.location_id})
                if want:
                    self._relate(record.id, want)

    def get(self, id: str) -> Record | None:
        try:
            data = self.api.request("GET", f"/objects/{self.key}/records/{id}")["record"]
        except NotFoundError:
            return None
        return self.record(data)

    def delete(self, id: str) -> None:
        self.quiet_delete(f"/objects/{self.key}/records/{id}")
        self.forget(id)

    def record(self, data: dict, contact_id: Any = _ASK) -> Record:
        """A record from its body; its contact read from its relations unless ``contact_id`` is
        given (None: it has none)."""
        custom = read_properties(self.ctx.fields, self.object, data.get("properties"))
        primary = self.primary()
        fields = {primary: custom.pop(primary)} if primary in custom else {}
        if contact_id is _ASK:
            links = {"contactId": r["secondRecordId"] for r in self._relations(data["id"])[:1]}
        else:
            links = {"contactId": contact_id} if contact_id else {}
        owner = (data.get("owner") or [None])[0]
        return Record(object=self.object, fields=fields, custom=custom, owner_id=owner, links=links, id=data["id"])

    def _search(self, query: str = "") -> Iterator[dict]:
        limit, after = self.ctx.page(100), None
        while True:
            body: dict[str, Any] = {"locationId": self.ctx.location_id, "pageLimit": limit, "query": query}
            body.update({"searchAfter": after} if after else {"page": 1})
            items = self.api.request("POST", f"/objects/{self.key}/records/search", json=body).get("records", [])
            yield from items
            if len(items) < limit:
                return
            # the answer gives the cursor as [epoch ms, id]; the search body takes strings only
            # (objects.json SearchRecordResponseDTO vs SearchRecordsBody)
            after = [str(v) for v in items[-1].get("searchAfter") or []]

    def iter(self) -> Iterator[Record]:
        """Every record (records search, ``searchAfter`` cursor), each with its contact link:
        one relations call per record, or - while a read-back lasts - one per contact for every
        custom object at once, whichever is fewer (:mod:`._bulk_reads`)."""
        reads = self.ctx.reads
        if reads is None:
            for r in self._search():
                yield self.record(r)
            return
        found = list(self._search())
        aid = self.association(create=False)
        linked = reads.contact_of(aid, [r["id"] for r in found], self._relations) if aid else {}
        for r in found:
            yield self.record(r, linked.get(r["id"]))

    def find(self, source_id: str) -> str | None:
        if SOURCE_ID_FIELD not in self.ctx.fields.by_key(self.object):
            return None
        return next((r["id"] for r in self._search(str(source_id))
                     if str((r.get("properties") or {}).get(SOURCE_ID_FIELD)) == str(source_id)), None)
