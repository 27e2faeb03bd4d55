"""Contacts, opportunities and companies (HighLevel "businesses").

Contacts (apps/contacts.json): standard fields, tags, DND (``dnd`` + ``dndSettings``), location
custom fields, owner ``assignedTo``, and a company link ``links["businessId"]`` written with
``POST /contacts/bulk/business`` (the contact DTOs have no businessId; research §4).

Opportunities (apps/opportunities.json): pipeline and stage ids in ``fields``, the contact in
``links["contactId"]``.

Companies (apps/businesses.json): the businesses API takes standard fields only (issue #329).
Custom values - and the parent link, which HighLevel does not have - are Custom Fields V2 of
objectKey ``business`` written through ``/objects/business/records/{id}`` (research §4: "schemaKey
may also be business"). The parent is ``links["parentId"]``, kept in the text field
``business.parent_company_id`` that the adapter creates on first use; read-back returns it as
the same link.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Iterator

from ...errors import DestinationError, MappingError, NotFoundError, PartialWriteError
from .._base import SOURCE_ID_FIELD, CustomField, Record
from ._activities import recheck_under, tried
from ._kinds import Kind, location_custom, properties_of, read_location_custom, read_properties
from ._values import plain

__all__ = ["Contacts", "Opportunities", "Companies", "PARENT_FIELD"]

log = logging.getLogger("toolkit.destinations.highlevel")

#: contact fields we read back (CreateContactDto / GetContectByIdSchema names)
CONTACT_FIELDS = ("firstName", "lastName", "email", "phone", "dateOfBirth", "address1", "city", "state",
                  "postalCode", "country", "companyName", "source", "gender", "website", "timezone", "dnd",
                  "dndSettings")
OPPORTUNITY_FIELDS = ("name", "monetaryValue", "status", "pipelineId", "pipelineStageId", "source")
COMPANY_FIELDS = ("name", "phone", "email", "website", "address", "city", "state", "postalCode", "country",
                  "description")
#: fields the create DTO accepts but the update DTO does not. Sending them on PUT is a 422 (§1),
#: so update() leaves them out and logs it; a diff then shows any value that could not change.
NOT_UPDATABLE = {"contact": {"companyName", "gender", "locationId"}, "opportunity": {"contactId", "locationId"},
                 "company": set()}
#: the V2 field holding a company's parent company id (HighLevel has no parent field)
PARENT_FIELD = CustomField("parent_company_id", "Parent Company ID", "text", "company")


class _LocationRecords(Kind):
    """Contacts and opportunities: location custom fields, assignedTo, PUT to update."""

    path = ""
    read_fields: tuple[str, ...] = ()

    def payload(self, record: Record, *, create: bool) -> dict[str, Any]:
        body = {k: plain(v) for k, v in record.fields.items()}
        if record.owner_id is not None:
            body["assignedTo"] = record.owner_id
        if record.custom:
            body["customFields"] = location_custom(self.ctx.fields, self.object, record.custom)
        if create:
            body["locationId"] = self.ctx.location_id
        else:
            dropped = sorted(k for k in body if k in NOT_UPDATABLE[self.object])
            if dropped:
                log.warning("HighLevel %s update cannot change %s (not in the update DTO); left as is",
                            self.object, ", ".join(dropped))
            body = {k: v for k, v in body.items() if k not in NOT_UPDATABLE[self.object]}
        return body

    def get(self, id: str) -> Record | None:
        try:
            data = self.api.request("GET", f"{self.path}/{id}")
        except NotFoundError:
            return None
        return self.record(data[self.object])

    def delete(self, id: str) -> None:
        self.quiet_delete(f"{self.path}/{id}")
        self.forget(id)

    def record(self, data: dict) -> Record:
        """A vendor body as a Record in the shape we write (custom values by our key)."""
        fields = {k: data[k] for k in self.read_fields if data.get(k) is not None}
        return Record(object=self.object, fields=fields,
                      custom=read_location_custom(self.ctx.fields, self.object, data.get("customFields")),
                      owner_id=data.get("assignedTo") or None, id=data.get("id"))


class Contacts(_LocationRecords):
    object, path, read_fields = "contact", "/contacts", CONTACT_FIELDS

    def payload(self, record: Record, *, create: bool) -> dict[str, Any]:
        body = super().payload(record, create=create)
        if record.tags:
            body["tags"] = list(record.tags)
        return body

    def create(self, record: Record) -> str:
        self._check_links(record)
        new_id = self.api.request("POST", "/contacts/", json=self.payload(record, create=True))["contact"]["id"]
        if record.links.get("businessId"):
            try:
                self._link_business(new_id, record.links["businessId"])
            except DestinationError as exc:
                raise PartialWriteError("contact created, its company link not made", id=new_id, cause=exc) from exc
        return new_id

    def update(self, record: Record) -> None:
        self._check_links(record)
        self.api.request("PUT", f"/contacts/{record.id}", json=self.payload(record, create=False))
        gone = [t for t in dict.fromkeys(record.remove_tags) if t not in record.tags]
        if gone:
            # UpdateContactDto.tags "will overwrite all current tags" but an empty list is not
            # documented to clear them; the spec recommends "the Add Tag or Remove Tag API instead"
            # (apps/contacts.json), which is DELETE /contacts/{id}/tags with body {tags} (research §4)
            self.api.request("DELETE", f"/contacts/{record.id}/tags", json={"tags": gone})
        if "businessId" in record.links:  # present but empty unlinks
            self._link_business(record.id, record.links["businessId"] or None)

    def _check_links(self, record: Record) -> None:
        extra = sorted(set(record.links) - {"businessId"})
        if extra:
            raise MappingError(f"HighLevel contacts link only to a company (businessId); got {', '.join(extra)}")

    def _link_business(self, contact_id: str, business_id: str | None) -> None:
        self.api.request("POST", "/contacts/bulk/business",
                         json={"locationId": self.ctx.location_id, "ids": [contact_id], "businessId": business_id})

    def record(self, data: dict) -> Record:
        rec = super().record(data)
        if rec.fields.get("dateOfBirth"):
            rec.fields["dateOfBirth"] = str(rec.fields["dateOfBirth"])[:10]  # returned as …T00:00:00.000Z (§7)
        rec.tags = list(data.get("tags") or [])
        if data.get("businessId"):
            rec.links = {"businessId": data["businessId"]}
        return rec

    def find(self, source_id: str) -> str | None:
        """``POST /contacts/search`` filtered on ``customFields.<fieldId>`` (§3)."""
        field = self.ctx.fields.by_key("contact").get(SOURCE_ID_FIELD)
        if field is None:  # never provisioned: nothing can carry it
            return None
        body = {"locationId": self.ctx.location_id, "page": 1, "pageLimit": 20,
                "filters": [{"field": f"customFields.{field.id}", "operator": "eq", "value": source_id}]}
        for c in self.api.request("POST", "/contacts/search", json=body).get("contacts", []):
            # the search compares case-insensitively; source ids are exact
            if any(cf.get("id") == field.id and str(cf.get("value")) == str(source_id)
                   for cf in c.get("customFields", [])):
                return c["id"]
        return None

    def iter(self) -> Iterator[Record]:
        # searchAfter cursors pass the 10,000-record cap of page-based search (§3)
        limit = self.ctx.page(500)
        after = None
        while True:
            body: dict[str, Any] = {"locationId": self.ctx.location_id, "pageLimit": limit}
            body.update({"searchAfter": after} if after is not None else {"page": 1})
            items = self.api.request("POST", "/contacts/search", json=body).get("contacts", [])
            for c in items:
                yield self.record(c)
            if len(items) < limit:
                return
            after = items[-1].get("searchAfter")


class Opportunities(_LocationRecords):
    object, path, read_fields = "opportunity", "/opportunities", OPPORTUNITY_FIELDS

    def payload(self, record: Record, *, create: bool) -> dict[str, Any]:
        if record.tags or record.remove_tags:
            raise MappingError("HighLevel opportunities have no tags (apps/opportunities.json CreateDto)")
        extra = sorted(set(record.links) - {"contactId"})
        if extra:
            raise MappingError(f"HighLevel opportunities link only to a contact (contactId); got {', '.join(extra)}")
        # contactId travels in the body (CreateDto); the update DTO has none, so update drops it
        body = super().payload(replace(record, fields={**record.fields, **record.links}), create=create)
        if create:
            body.setdefault("status", "open")  # required by CreateDto; a new deal is open
        return body

    def create(self, record: Record) -> str:
        if record.links.get("contactId"):
            tried(self, record, record.links["contactId"])
        new_id = self.api.request("POST", "/opportunities/", json=self.payload(record, create=True))["opportunity"]["id"]
        self.remember(record, new_id)
        return new_id

    def under(self, cid: str) -> Iterator[Record]:
        """The opportunities of one contact (``contact_id``: a page or two)."""
        return self._pages(contact_id=cid)

    def recheck(self, source_id: str) -> str | None:
        # a lost create can only have landed under the contact it was made for
        return recheck_under(self, source_id)

    def update(self, record: Record) -> None:
        self.api.request("PUT", f"/opportunities/{record.id}", json=self.payload(record, create=False))

    def record(self, data: dict) -> Record:
        rec = super().record(data)
        rec.links = {"contactId": data["contactId"]} if data.get("contactId") else {}
        return rec

    def iter(self) -> Iterator[Record]:
        # The GET search offers no custom-field filter, so find() scans and indexes (Kind.find).
        return self._pages()

    def _pages(self, **filters) -> Iterator[Record]:
        limit, page = self.ctx.page(100), 1
        while True:
            data = self.api.request("GET", "/opportunities/search", params={
                "location_id": self.ctx.location_id, **filters, "page": page, "limit": limit})
            items = data.get("opportunities", [])
            for o in items:
                yield self.record(o)
            total = data.get("meta", {}).get("total")
            if not items or len(items) < limit or (total is not None and page * limit >= total):
                return
            page += 1


class Companies(Kind):
    object = "company"

    def _split(self, record: Record) -> tuple[dict, dict]:
        extra = sorted(set(record.links) - {"parentId"})
        if extra:
            raise MappingError(f"HighLevel companies link only to a parent company (parentId); got {', '.join(extra)}")
        if record.tags or record.remove_tags or record.owner_id:
            raise MappingError("HighLevel businesses have no tags or owner (apps/businesses.json)")
        unknown = sorted(set(record.fields) - set(COMPANY_FIELDS))
        if unknown:
            raise MappingError(f"HighLevel businesses have no field {', '.join(unknown)} (known: {', '.join(COMPANY_FIELDS)})")
        standard = {k: plain(v) for k, v in record.fields.items()}
        props = properties_of(self.ctx.fields, "company", record.custom)
        if "parentId" in record.links:
            parent = record.links["parentId"] or None
            if parent is not None and parent == record.id:
                raise MappingError(f"company {record.id} cannot be its own parent")
            self.ctx.fields.ensure(PARENT_FIELD)
            props[PARENT_FIELD.key] = parent
        return standard, props

    def _write_properties(self, bid: str, props: dict) -> None:
        if props:
            self.api.request("PUT", f"/objects/business/records/{bid}", params={"locationId": self.ctx.location_id},
                             json={"properties": props})

    def create(self, record: Record) -> str:
        standard, props = self._split(record)
        # the create DTO has no description; the update DTO has (apps/businesses.json)
        late = {k: standard.pop(k) for k in ("description",) if k in standard}
        new_id = self.api.request("POST", "/businesses/", json={**standard, "locationId": self.ctx.location_id}
                                  )["buiseness"]["id"]  # sic (research §8.4)
        self.remember(record, new_id)
        try:
            if late:
                self.api.request("PUT", f"/businesses/{new_id}", json=late)
            self._write_properties(new_id, props)
        except DestinationError as exc:
            raise PartialWriteError("business created, its other properties not written", id=new_id, cause=exc) from exc
        return new_id

    def update(self, record: Record) -> None:
        standard, props = self._split(record)
        if standard:
            self.api.request("PUT", f"/businesses/{record.id}", json=standard)
        self._write_properties(record.id, props)

    def get(self, id: str) -> Record | None:
        try:
            data = self.api.request("GET", f"/businesses/{id}")["business"]
        except NotFoundError:
            return None
        props = {}
        if self.ctx.fields.by_key("company"):  # no V2 fields, no values: spare the call
            props = self.api.request("GET", f"/objects/business/records/{id}")["record"].get("properties") or {}
        return self.record(data, props)

    def delete(self, id: str) -> None:
        self.quiet_delete(f"/businesses/{id}")
        self.forget(id)

    def record(self, data: dict, props: dict) -> Record:
        custom = read_properties(self.ctx.fields, "company", props)
        parent = custom.pop(PARENT_FIELD.key, None)
        return Record(object="company", fields={k: data[k] for k in COMPANY_FIELDS if data.get(k) not in (None, "")},
                      custom=custom, links={"parentId": parent} if parent else {}, id=data["id"])

    def _property_pages(self, query: str = "") -> Iterator[dict]:
        """Business records (their V2 values), following the records search cursor (§3)."""
        limit, after = self.ctx.page(100), None
        while True:
            body: dict[str, Any] = {"locationId": self.ctx.location_id, "pageLimit": limit, "query": query}
            body.update({"searchAfter": after} if after else {"page": 1})
            items = self.api.request("POST", "/objects/business/records/search", json=body).get("records", [])
            yield from items
            if len(items) < limit:
                return
            after = items[-1].get("searchAfter")

    def iter(self) -> Iterator[Record]:
        props = {r["id"]: r.get("properties") or {} for r in self._property_pages()} if self.ctx.fields.by_key("company") else {}
        limit, skip = self.ctx.page(100), 0
        while True:
            items = self.api.request("GET", "/businesses/", params={"locationId": self.ctx.location_id,
                                                                    "skip": str(skip), "limit": str(limit)}
                                     ).get("businesses", [])
            for b in items:
                yield self.record(b, props.get(b["id"], {}))
            if len(items) < limit:
                return
            skip += limit

    def find(self, source_id: str) -> str | None:
        """Records search on the source id's text, then an exact match (the search is fuzzy)."""
        if SOURCE_ID_FIELD not in self.ctx.fields.by_key("company"):
            return None
        return next((r["id"] for r in self._property_pages(str(source_id))
                     if str((r.get("properties") or {}).get(SOURCE_ID_FIELD)) == str(source_id)), None)
