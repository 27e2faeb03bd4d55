"""What every HighLevel object kind shares: the context it works in, the source-id index, and
custom values in both of HighLevel's shapes.

An object kind (contact, company, task, …) turns :class:`~toolkit.destinations.Record` into the
vendor's requests and the vendor's bodies back into Records of the same shape. The adapter picks
the kind by the record's object name from a table, never by a chain of ifs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterator

from ...errors import MappingError, NotFoundError
from .._base import SOURCE_ID_FIELD, Record
from ._api import Api
from ._fields import FieldCatalog
from ._values import from_location_value, from_property, read_location_value, to_location_value, to_property

__all__ = ["Context", "Kind", "location_custom", "read_location_custom", "properties_of", "read_properties"]


@dataclass
class Context:
    """Everything an object kind needs: the API, the field catalog, the location and options."""

    api: Api
    fields: FieldCatalog
    location_id: str
    options: dict[str, Any]
    #: while a read-back lasts (``HighLevel.reading``): the per-contact reads, made once
    reads: Any = None

    def page(self, vendor_max: int) -> int:
        """Records per page: the ``page_size`` option capped at the endpoint's maximum."""
        size = int(self.options.get("page_size") or 0)
        return min(size, vendor_max) if size > 0 else vendor_max


class Kind:
    """One object kind. Subclasses implement the five operations with the vendor's endpoints."""

    object = ""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.api = ctx.api
        self._index: dict[str, str] | None = None
        # engine workers share the kind: a scan replaces the index while others remember creates
        self._index_lock = threading.RLock()
        #: source id -> the parent a create went to (kinds that file records under a contact)
        self._tried: dict[str, str] = {}

    def create(self, record: Record) -> str:
        raise NotImplementedError

    def update(self, record: Record) -> None:
        raise NotImplementedError

    def get(self, id: str) -> Record | None:
        raise NotImplementedError

    def delete(self, id: str) -> None:
        raise NotImplementedError

    def iter(self) -> Iterator[Record]:
        raise NotImplementedError

    # --- finding by source id ------------------------------------------------------------
    def find(self, source_id: str) -> str | None:
        """The id of the record carrying ``source_id``.

        Default (the kinds whose endpoints cannot filter on a value): a full scan builds an
        index, kept current by this kind's own creates and deletes. The engine asks after a
        create failed in a way the server may have acted on (a 5xx, a dropped connection): the
        record may then exist although no create of ours returned its id, so the index cannot
        know it. A miss in an index built earlier is therefore checked by scanning again; a
        fresh scan's answer stands.
        """
        sid = str(source_id)
        with self._index_lock:
            if sid in self._tried and (self._index is None or sid not in self._index):
                # a create of ours went out and its answer did not come back: it can only be
                # where that create went (see recheck), so no scan of everything is needed
                return self.recheck(sid)
            fresh = self._index is None
            if fresh:
                self._index = self._scan()
            found = self._index.get(sid)
            if found is None and not fresh:
                found = self.recheck(sid)
            return found

    def recheck(self, source_id: str) -> str | None:
        """After a miss in an index built earlier: scan again. Kinds that know where a create
        they tried would have landed look only there (:class:`~._activities._ContactChildren`)."""
        self._index = self._scan()
        return self._index.get(source_id)

    def _scan(self) -> dict[str, str]:
        index: dict[str, str] = {}
        for rec in self.iter():
            sid = rec.custom.get(SOURCE_ID_FIELD)
            if sid is not None and rec.id:
                index.setdefault(str(sid), rec.id)
        return index

    def remember(self, record: Record, new_id: str) -> None:
        with self._index_lock:
            if self._index is not None and record.custom.get(SOURCE_ID_FIELD) is not None:
                self._index[str(record.custom[SOURCE_ID_FIELD])] = new_id

    def forget(self, id: str) -> None:
        with self._index_lock:
            if self._index:
                for sid in [s for s, i in self._index.items() if i == id]:
                    del self._index[sid]

    # --- small shared steps -------------------------------------------------------------
    def quiet_delete(self, path: str, **kw: Any) -> None:
        """DELETE where a record already gone is not an error (rollback may replay)."""
        try:
            self.api.request("DELETE", path, **kw)
        except NotFoundError:
            pass

    def no_custom_but_source(self, record: Record) -> str | None:
        """The record's source id; any other custom value is a mapping error for this kind."""
        extra = sorted(k for k in record.custom if k != SOURCE_ID_FIELD)
        if extra:
            raise MappingError(f"HighLevel {self.object}s have no custom fields; cannot write {', '.join(extra)}")
        sid = record.custom.get(SOURCE_ID_FIELD)
        return None if sid is None else str(sid)


def location_custom(fields: FieldCatalog, object: str, custom: dict[str, Any]) -> list[dict]:
    """``customFields`` items for a contact/opportunity: always ``id`` (the typed schemas require
    it) and ``field_value`` (research §4); a None value clears the field with its type's empty
    form, since ``null`` is refused (see :func:`~._values.cleared_location_value`)."""
    items = []
    for key, value in custom.items():
        f = fields.require(object, key)
        items.append({"id": f.id, "field_value": to_location_value(f, value)})
    return items


def read_location_custom(fields: FieldCatalog, object: str, items: list[dict] | None) -> dict[str, Any]:
    """Read-back ``customFields`` by our key; a field we do not know is kept as ``id:<fieldId>``."""
    out: dict[str, Any] = {}
    for item in items or []:
        f = fields.by_id(object, item.get("id"))
        value = read_location_value(item)
        if f is None:
            out[f"id:{item.get('id')}"] = value
            continue
        value = from_location_value(f, value)
        if value is not None:  # cleared ("" or []) reads as no value, like a field never set
            out[f.key] = value
    return _unticked(fields.by_key(object), out)


def _unticked(known: dict, out: dict[str, Any]) -> dict[str, Any]:
    """HighLevel stores an unticked checkbox as no value, so every checkbox field without one
    reads back False: a checkbox is always either ticked or not."""
    for key, f in known.items():
        if f.type == "checkbox" and key not in out:
            out[key] = False
    return out


def properties_of(fields: FieldCatalog, object: str, values: dict[str, Any]) -> dict[str, Any]:
    """Record ``properties`` (short field key -> V2 value) for a company or custom object."""
    out = {}
    for key, value in values.items():
        f = fields.require(object, key)
        out[key] = to_property(f, value, fields.option_keys(f))
    return out


def read_properties(fields: FieldCatalog, object: str, props: dict[str, Any] | None) -> dict[str, Any]:
    """Read-back ``properties`` by our key (a property we do not know is kept as it is)."""
    known = fields.by_key(object)
    if props and any(k not in known for k in props):
        fields.list(object)  # created since we cached: refresh once
        known = fields.by_key(object)
    out = {}
    for key, value in (props or {}).items():
        f = known.get(key)
        out[key] = value if f is None else from_property(f, value, fields.option_keys(f))
    return _unticked(known, out)
