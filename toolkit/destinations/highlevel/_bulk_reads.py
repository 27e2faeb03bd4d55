"""A location read back in bulk: the reads HighLevel makes per contact, made once and in parallel.

HighLevel lists notes only under their contact (``GET /contacts/{id}/notes``) and a custom
object record's contact only through relations (``GET /associations/relations/{recordId}``,
research highlevel.md §3/§5). Listing notes, files and several custom objects one after the
other would ask each contact, or each custom record, again and again. While a read-back lasts
(:meth:`HighLevel.reading <toolkit.destinations.highlevel.HighLevel.reading>`), this cache asks
each contact once for its notes and once for its relations - every association at once, so a
location with three custom objects pays one relations call per contact, not one per record -
and hands the answers to every object that needs them. The calls go out from a pool of workers
that share the location's rate limiter, so the reads keep the quota full.

Relations are read per contact when that is the cheaper side: when a single custom object is
read and it has fewer records than the location has contacts, each record is asked instead.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, TypeVar

__all__ = ["BulkReads"]

T = TypeVar("T")
R = TypeVar("R")
RELATIONS_PAGE = 100  # apps/associations.json gives no maximum; 100 is its example and ours


class BulkReads:
    """Per-contact reads shared by every object listed while a read-back lasts.

    Args:
        ctx: the location's context (API, location id).
        contacts: the contacts kind (its ``iter`` lists the location's contacts).
        workers: calls in flight at once; they all pass the location's limiter.
        call: how to make one call (the engine's retrying ``call``); default direct.
        custom_objects: how many custom objects will be listed (several share one pass over
            the contacts, so it is taken whenever there are several).
    """

    def __init__(self, ctx: Any, contacts: Any, workers: int = 1, call: Callable | None = None,
                 custom_objects: int = 1):
        self.ctx, self.contacts = ctx, contacts
        self.custom_objects = custom_objects
        self.workers = max(1, int(workers))
        self.call = call or (lambda fn, *a: fn(*a))
        self._lock = threading.RLock()
        self._contact_ids: list[str] | None = None
        self._notes: list[tuple[str, dict]] | None = None
        #: (association id, record id) -> the contact it relates to, from every contact's relations
        self._related: dict[tuple[str, str], str] | None = None

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``fn`` over ``items`` in the pool, results in the items' order; the first error raises."""
        items = list(items)
        if self.workers == 1 or len(items) < 2:
            return [self.call(fn, i) for i in items]
        with ThreadPoolExecutor(min(self.workers, len(items)), thread_name_prefix="highlevel-read") as pool:
            return list(pool.map(lambda i: self.call(fn, i), items))

    def contact_ids(self) -> list[str]:
        with self._lock:
            if self._contact_ids is None:
                self._contact_ids = [c.id for c in self.contacts.iter() if c.id]
            return self._contact_ids

    def notes(self) -> list[tuple[str, dict]]:
        """(contact id, note) for every note of every contact: one call per contact."""
        with self._lock:
            if self._notes is None:
                ids = self.contact_ids()
                pages = self.map(lambda cid: self.ctx.api.request("GET", f"/contacts/{cid}/notes"), ids)
                self._notes = [(cid, n) for cid, page in zip(ids, pages) for n in page.get("notes", [])]
            return self._notes

    def contact_of(self, association_id: str, record_ids: list[str],
                   per_record: Callable[[str], list[dict]]) -> dict[str, str]:
        """Record id -> contact id for ``record_ids`` (records of one custom object).

        Args:
            association_id: the custom object's association with contacts.
            record_ids: the records whose contact is wanted.
            per_record: one record's relations (the custom object's own read), used when asking
                each record costs fewer calls than asking each contact.
        """
        with self._lock:
            if self._related is None and self.custom_objects < 2 and len(record_ids) < len(self.contact_ids()):
                found = self.map(per_record, record_ids)
                return {rid: rels[0]["secondRecordId"] for rid, rels in zip(record_ids, found) if rels}
            if self._related is None:
                self._related = self._every_relation()
            return {rid: self._related[(association_id, rid)] for rid in record_ids
                    if (association_id, rid) in self._related}

    def _every_relation(self) -> dict[tuple[str, str], str]:
        ids = self.contact_ids()
        out: dict[tuple[str, str], str] = {}
        for cid, rels in zip(ids, self.map(self._relations_of_contact, ids)):
            for r in rels:
                other = r.get("firstRecordId") if r.get("secondRecordId") == cid else r.get("secondRecordId")
                if other:
                    out.setdefault((r.get("associationId"), other), cid)
        return out

    def _relations_of_contact(self, contact_id: str) -> list[dict]:
        """Every relation of one contact, across every association, page by page."""
        out: list[dict] = []
        while True:
            data = self.ctx.api.request("GET", f"/associations/relations/{contact_id}", params={
                "locationId": self.ctx.location_id, "skip": len(out), "limit": RELATIONS_PAGE})
            page = data.get("relations", [])
            out += page
            if len(page) < RELATIONS_PAGE or len(out) >= int(data.get("total") or 0):
                return out
