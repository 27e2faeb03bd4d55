"""Pipedrive's object kinds: each turns Records into the vendor's requests and bodies back into
Records of the same shape (§3 says which API version serves which object; §5 the fields).

Record conventions (the destination's own API field names, with these conveniences):

* ``person.fields["emails"]``/``["phones"]``: a string (one, primary) or a list; read back as a
  string when there is one, a list when several. Links: ``org_id``.
* ``organization.fields["address"]``: the address as one string (``address.value``).
* ``deal``: ``pipeline_id``/``stage_id`` as strings (the ids :meth:`list_pipelines` gives).
  Links: ``person_id``, ``org_id``.
* ``lead.fields["value"]``: the amount; ``currency`` beside it (default the company's).
  Links: ``person_id``, ``organization_id`` (one of them is required, §5 Leads).
* ``activity``: ``due_time`` as ``HH:MM``; ``duration`` in minutes (Pipedrive's ``HH:MM`` on the
  wire; ``HH:MM`` is accepted on write too); ``location`` as one string. Links: ``person_id`` (sent as the primary participant, §5),
  ``deal_id``, ``lead_id``, ``org_id``.
* ``note``: ``content`` (HTML), ``add_time`` as ISO 8601 (sent as ``YYYY-MM-DD HH:MM:SS`` UTC,
  §5 Notes: settable in the past); the owner is the note's author (``user_id``).
* ``file``: ``path`` (a local file to upload), optional ``name`` and ``size`` (declared bytes; read
  back as the size Pipedrive stored). Links: one parent.

Activities, notes and files have no custom fields; their ``source_id`` travels as a marker
(``[source_id: X]``) at the end of the note, the note content, or at the start of the file name,
so an interrupted run can still find what it created (:meth:`Kind.find`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterator

from ...errors import FatalError, MappingError, NotFoundError
from .._base import SOURCE_ID_FIELD, Record
from ._api import Api
from ._fields import ENTITY_OF, FieldCatalog

__all__ = ["Kind", "Context", "PersonKind", "OrganizationKind", "DealKind", "LeadKind", "UserKind"]

_INT_LINKS = {"person_id", "org_id", "organization_id", "deal_id", "activity_id", "user_id", "owner_id"}


class Context:
    """What every kind needs: the API, the field catalog and the adapter's options."""

    def __init__(self, api: Api, fields: FieldCatalog, options: dict):
        self.api, self.fields, self.options = api, fields, options
        self.currency = options.get("currency", "USD")

    def page(self, vendor_max: int) -> int:
        size = int(self.options.get("page_size") or 0)
        return min(size, vendor_max) if size > 0 else vendor_max


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return v


def _link(name: str, value: Any, object: str) -> Any:
    if value is None or name not in _INT_LINKS:
        return value
    try:
        return int(str(value))
    except ValueError:
        raise MappingError(f"{object} {name} must be a Pipedrive id (an integer), got {value!r}") from None


def _str_id(v: Any) -> str | None:
    return None if v is None else str(v)


class Kind:
    """One object kind; the defaults serve the v2 entities with custom fields."""

    object = ""
    version = "v2"
    path = ""
    fields_read: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    vendor_max = 500

    def __init__(self, ctx: Context):
        self.ctx, self.api = ctx, ctx.api
        self.entity = ENTITY_OF.get(self.object)
        self._index: dict[str, str] | None = None

    # --- writing ----------------------------------------------------------------------------
    def custom_body(self, record: Record) -> dict:
        if not record.custom:
            return {}
        if self.entity is None:
            extra = set(record.custom) - {SOURCE_ID_FIELD}
            if extra:
                raise MappingError(f"Pipedrive {self.object}s have no custom fields ({', '.join(sorted(extra))})")
            return {}
        out = {}
        for key, value in record.custom.items():
            f = self.ctx.fields.get(self.entity, self.object, key)
            out[f.code] = self.ctx.fields.to_pipedrive(f, _plain(value), self.object)
        return {"custom_fields": out}

    def payload(self, record: Record, *, create: bool) -> dict:
        if record.tags:
            raise MappingError(f"Pipedrive {self.object}s have no tags; map them to a custom field")
        body = {k: _plain(v) for k, v in record.fields.items()}
        for name, value in record.links.items():
            if name not in self.links:
                raise MappingError(f"Pipedrive {self.object}s have no link {name!r} (links: {', '.join(self.links)})")
            body[name] = _link(name, value, self.object)
        if record.owner_id is not None:
            body["owner_id"] = _link("owner_id", record.owner_id, self.object)
        body.update(self.custom_body(record))
        return body

    def create(self, record: Record) -> str:
        data = self.api.call("POST", self.version, self.path, json=self.payload(record, create=True))["data"]
        new_id = str(data["id"])
        self.remember(record, new_id)
        return new_id

    def update(self, record: Record) -> None:
        self.api.call("PATCH", self.version, f"{self.path}/{record.id}", json=self.payload(record, create=False))

    def _keep_marker(self, record: Record, text_field: str) -> Record:
        """An update that rewrites the text holding the source id marker keeps the marker: the
        record's source id, else the one the stored record carries (one extra read)."""
        if text_field not in record.fields or record.custom.get(SOURCE_ID_FIELD) is not None:
            return record
        current = self.get(str(record.id))
        sid = current.custom.get(SOURCE_ID_FIELD) if current else None
        if sid is None:
            return record
        return Record(record.object, fields=dict(record.fields), custom={**record.custom, SOURCE_ID_FIELD: sid},
                      tags=list(record.tags), owner_id=record.owner_id, links=dict(record.links), id=record.id)

    # --- reading ----------------------------------------------------------------------------
    def get(self, id: str) -> Record | None:
        try:
            data = self.api.call("GET", self.version, f"{self.path}/{id}")["data"]
        except NotFoundError:
            return None
        if not data or data.get("is_deleted") or data.get("active_flag") is False:
            return None
        return self.record(data)

    def delete(self, id: str) -> None:
        try:
            self.api.call("DELETE", self.version, f"{self.path}/{id}")
        except NotFoundError:
            pass  # already gone: rollback may replay
        if self._index:
            for sid in [s for s, i in self._index.items() if i == str(id)]:
                del self._index[sid]

    def iter(self) -> Iterator[Record]:
        pages = self.api.pages_v2 if self.version == "v2" else self.api.pages_v1
        for data in pages(self.path, limit=self.ctx.page(self.vendor_max)):
            if not data.get("is_deleted"):
                yield self.record(data)

    def record(self, data: dict) -> Record:
        fields = {k: data[k] for k in self.fields_read if data.get(k) not in (None, "", [])}
        links = {k: _str_id(data[k]) for k in self.links if data.get(k) is not None}
        return Record(object=self.object, fields=fields, custom=self.read_custom(data), links=links,
                      owner_id=_str_id(data.get("owner_id")), id=str(data["id"]))

    def read_custom(self, data: dict) -> dict:
        if self.entity is None:
            return {}
        out = {}
        for code, value in (data.get("custom_fields") or {}).items():
            if value is None:
                continue
            f = self.ctx.fields.by_code(self.entity, code)
            out[f.spec.key if f else f"code:{code}"] = self.ctx.fields.from_pipedrive(f, value) if f else value
        return out

    # --- finding by source id -----------------------------------------------------------------
    def find(self, source_id: str) -> str | None:
        """Search the entity's custom fields for the exact value (§3 "Search", §4), then confirm
        on the record itself: the search is case-insensitive and looks at every custom field."""
        f = self.ctx.fields.fields(self.entity).get(SOURCE_ID_FIELD) if self.entity else None
        if f is None:
            return None
        params = {"term": source_id, "fields": "custom_fields", "exact_match": "true"}
        for hit in self.api.pages_v2(f"{self.path}/search", params, limit=100):
            item = hit.get("item", {})
            rec = self.get(str(item.get("id")))
            if rec is not None and str(rec.custom.get(SOURCE_ID_FIELD)) == str(source_id):
                return rec.id
        return None

    def remember(self, record: Record, new_id: str) -> None:
        if self._index is not None and record.custom.get(SOURCE_ID_FIELD) is not None:
            self._index[str(record.custom[SOURCE_ID_FIELD])] = new_id

    def _scan_find(self, source_id: str) -> str | None:
        """One paged scan builds an index, kept current by our own creates and deletes."""
        if self._index is None:
            self._index = {}
            for rec in self.iter():
                sid = rec.custom.get(SOURCE_ID_FIELD)
                if sid is not None and rec.id:
                    self._index.setdefault(str(sid), rec.id)
        return self._index.get(str(source_id))


def _contacts(value: Any, label: str) -> list[dict]:
    """An email or phone as v2's list of ``{value, primary, label}`` (§5 Persons)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for i, v in enumerate(items):
        if isinstance(v, dict):
            out.append(v)
        elif v not in (None, ""):
            out.append({"value": str(v), "primary": i == 0, "label": label})
    return out


def _contacts_back(items: list[dict] | None) -> Any:
    values = [i.get("value") for i in sorted(items or [], key=lambda i: not i.get("primary")) if i.get("value")]
    return values[0] if len(values) == 1 else (values or None)


class PersonKind(Kind):
    object, path = "person", "/persons"
    fields_read = ("name", "marketing_status", "job_title", "birthday", "notes")
    links = ("org_id",)

    def payload(self, record: Record, *, create: bool) -> dict:
        body = super().payload(record, create=create)
        for key, label in (("emails", "home"), ("phones", "mobile")):
            if key in body:
                body[key] = _contacts(body[key], label)
        if isinstance(body.get("postal_address"), str):
            body["postal_address"] = {"value": body["postal_address"]}
        return body

    def record(self, data: dict) -> Record:
        rec = super().record(data)
        for key in ("emails", "phones"):
            back = _contacts_back(data.get(key))
            if back is not None:
                rec.fields[key] = back
        if (data.get("postal_address") or {}).get("value"):
            rec.fields["postal_address"] = data["postal_address"]["value"]
        return rec


class OrganizationKind(Kind):
    object, path = "organization", "/organizations"
    fields_read = ("name", "website", "linkedin", "industry", "annual_revenue", "employee_count")

    def payload(self, record: Record, *, create: bool) -> dict:
        body = super().payload(record, create=create)
        if isinstance(body.get("address"), str):
            body["address"] = {"value": body["address"]}
        return body

    def record(self, data: dict) -> Record:
        rec = super().record(data)
        if (data.get("address") or {}).get("value"):
            rec.fields["address"] = data["address"]["value"]
        return rec


class DealKind(Kind):
    object, path = "deal", "/deals"
    fields_read = ("title", "value", "currency", "status", "probability", "lost_reason", "expected_close_date")
    links = ("person_id", "org_id")

    def payload(self, record: Record, *, create: bool) -> dict:
        body = super().payload(record, create=create)
        for key in ("pipeline_id", "stage_id"):
            if body.get(key) is not None:
                body[key] = _link("deal_id", body[key], "deal")  # ids are integers on the wire
        if create:
            body.setdefault("currency", self.ctx.currency)
        return body

    def record(self, data: dict) -> Record:
        rec = super().record(data)
        for key in ("pipeline_id", "stage_id"):
            if data.get(key) is not None:
                rec.fields[key] = str(data[key])
        return rec


class LeadKind(Kind):
    object, version, path = "lead", "v1", "/leads"
    fields_read = ("title", "expected_close_date", "origin_id")
    links = ("person_id", "organization_id")

    def payload(self, record: Record, *, create: bool) -> dict:
        body = super().payload(record, create=create)
        custom = body.pop("custom_fields", {})
        for code, value in custom.items():  # v1: custom values at the root (§4 "Write shape")
            if isinstance(value, dict) and "currency" in value:
                body[code], body[f"{code}_currency"] = value["value"], value["currency"]
            else:
                body[code] = value
        currency = body.pop("currency", None) or self.ctx.currency
        if body.get("value") is not None and not isinstance(body["value"], dict):
            body["value"] = {"amount": float(body["value"]), "currency": currency}
        return body

    def record(self, data: dict) -> Record:
        custom_root = {k: v for k, v in data.items() if re.fullmatch(r"[0-9a-f]{40}", k)}
        rec = super().record({**data, "custom_fields": custom_root})
        if isinstance(data.get("value"), dict):
            rec.fields["value"], rec.fields["currency"] = data["value"]["amount"], data["value"]["currency"]
        return rec

    # find(): the lead search lives on v2 (/api/v2/leads/search, §3) although leads are v1;
    # Kind.find searches there and confirms on the v1 record.


class UserKind(Kind):
    """Users (v1 only): created with an email (a new paid seat, §3), never deleted by the API."""

    object, version, path = "user", "v1", "/users"
    fields_read = ("name", "email", "active_flag")

    def create(self, record: Record) -> str:
        body = {"email": record.fields["email"], "active_flag": bool(record.fields.get("active_flag", True))}
        if record.fields.get("admin"):
            body["access"] = [{"app": "sales", "admin": True}]
        data = self.api.call("POST", "v1", self.path, json=body)["data"]
        return str(data["id"])

    def update(self, record: Record) -> None:
        if "active_flag" in record.fields:
            self.api.call("PUT", "v1", f"{self.path}/{record.id}", json={"active_flag": bool(record.fields["active_flag"])})

    def iter(self) -> Iterator[Record]:
        for data in self.api.call("GET", "v1", self.path).get("data") or []:  # no pagination (§3)
            yield self.record(data)

    def record(self, data: dict) -> Record:
        return Record(object="user", fields={k: data[k] for k in self.fields_read if k in data}, id=str(data["id"]))

    def get(self, id: str) -> Record | None:
        try:
            return self.record(self.api.call("GET", "v1", f"{self.path}/{id}")["data"])
        except NotFoundError:
            return None

    def delete(self, id: str) -> None:
        raise FatalError("Pipedrive users cannot be deleted through the API (deactivate them with active_flag false)")

    def find(self, source_id: str) -> str | None:
        return None  # users carry no source id; they are matched by email (owner resolution)


