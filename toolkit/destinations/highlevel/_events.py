"""Calendar events (appointments): apps/calendars.json, ``Version: 2021-04-15`` (research §1, §4).

An event belongs to a contact (``links["contactId"]``) and a calendar (``links["calendarId"]``;
default: the ``calendar_id`` option, else the location's first calendar). Migrated appointments
are history, so they are written with ``ignoreFreeSlotValidation`` and ``ignoreDateRange`` (a
past slot is never "free") and ``toNotify: false`` (no reminders fire for them). The owner is
``assignedUserId``. Events have no custom fields; the source id is the last line of the
description (:mod:`._text`).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Iterator

from ...errors import ConfigError, MappingError, NotFoundError
from .._base import SOURCE_ID_FIELD, Record
from ._kinds import Kind
from ._text import split_source, with_source
from ._values import plain

__all__ = ["Events"]

FIELDS = ("title", "startTime", "endTime", "appointmentStatus", "address", "description", "meetingLocationType")
#: how far back and ahead ``iter`` looks (epoch ms): from 1970 to a century from now
_WINDOW_MS = 100 * 365 * 86_400_000
#: how far either side of a lost create's start :meth:`Events.recheck` looks
_AROUND_MS = 36 * 3_600_000
_HISTORY = {"toNotify": False, "ignoreFreeSlotValidation": True, "ignoreDateRange": True}


def _epoch_ms(value) -> int | None:
    """An event's start as epoch milliseconds (ISO 8601 text, or a number of ms)."""
    if isinstance(value, (int, float)):
        return int(value)
    try:
        when = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return int((when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp() * 1000)


class Events(Kind):
    object = "event"

    def __init__(self, ctx):
        super().__init__(ctx)
        self._calendars: list[str] | None = None
        #: source id -> the start (epoch ms) of an event whose create was sent (see :meth:`recheck`)
        self._starts: dict[str, int] = {}

    def calendars(self) -> list[str]:
        """The location's calendar ids (``GET /calendars/``), fetched once."""
        if self._calendars is None:
            data = self.api.request("GET", "/calendars/", params={"locationId": self.ctx.location_id})
            self._calendars = [c["id"] for c in data.get("calendars", [])]
        return self._calendars

    def _calendar(self, record: Record) -> str:
        cal = record.links.get("calendarId") or self.ctx.options.get("calendar_id")
        if cal:
            return cal
        found = self.calendars()
        if not found:
            raise ConfigError("the HighLevel location has no calendar for events; create one, or set "
                              "options.calendar_id")
        return found[0]

    def _payload(self, record: Record, *, create: bool, current_source: str | None = None) -> dict[str, Any]:
        unknown = sorted(set(record.fields) - set(FIELDS))
        if unknown:
            raise MappingError(f"HighLevel events have no field {', '.join(unknown)} (known: {', '.join(FIELDS)})")
        extra = sorted(set(record.links) - {"contactId", "calendarId"})
        if extra:
            raise MappingError(f"HighLevel events link to a contact and a calendar only; got {', '.join(extra)}")
        sid = self.no_custom_but_source(record) or current_source
        body = {k: plain(v) for k, v in record.fields.items()} | _HISTORY
        if create or "description" in body:
            text = with_source(body.pop("description", None), sid)
            if text is not None:
                body["description"] = text
        if record.owner_id is not None:
            body["assignedUserId"] = record.owner_id
        if create or record.links.get("calendarId"):
            body["calendarId"] = self._calendar(record)
        return body

    def create(self, record: Record) -> str:
        cid = record.links.get("contactId")
        if not cid:
            raise MappingError("a HighLevel event belongs to a contact: links['contactId'] is required")
        body = self._payload(record, create=True) | {"locationId": self.ctx.location_id, "contactId": cid}
        sid, start = record.custom.get(SOURCE_ID_FIELD), _epoch_ms(body.get("startTime"))
        if sid is not None and start is not None:
            with self._index_lock:
                self._tried[str(sid)], self._starts[str(sid)] = body["calendarId"], start
        new_id = self.api.request("POST", "/calendars/events/appointments", json=body)["id"]
        self.remember(record, new_id)
        return new_id

    def update(self, record: Record) -> None:
        """``PUT …/appointments/{id}``; the edit schema has no contactId, so the contact stays."""
        current = None
        if "description" in record.fields and SOURCE_ID_FIELD not in record.custom:
            before = self.get(record.id)  # rewriting the text must keep its source-id line
            current = before.custom.get(SOURCE_ID_FIELD) if before else None
        self.api.request("PUT", f"/calendars/events/appointments/{record.id}",
                         json=self._payload(record, create=False, current_source=current))

    def get(self, id: str) -> Record | None:
        try:
            data = self.api.request("GET", f"/calendars/events/appointments/{id}")
        except NotFoundError:
            return None
        return self.record(data["event"])

    def delete(self, id: str) -> None:
        # the spec declares a (empty) request body on this DELETE as required
        self.quiet_delete(f"/calendars/events/{id}", json={})
        self.forget(id)

    def record(self, e: dict) -> Record:
        text, sid = split_source(e.get("description"))
        fields = {k: e[k] for k in FIELDS if e.get(k) not in (None, "") and k != "description"}
        if text:
            fields["description"] = text
        return Record(object="event", fields=fields, custom={SOURCE_ID_FIELD: sid} if sid else {},
                      owner_id=e.get("assignedUserId") or None,
                      links={k: e[k] for k in ("contactId", "calendarId") if e.get(k)}, id=e["id"])

    def recheck(self, source_id: str) -> str | None:
        """After a create whose answer was lost: the event can only be in the calendar it was
        sent to, starting when it was to start, so ask for that calendar's events around that
        time (one call; a day and a half either side, whatever zone the start was read in)
        rather than every calendar's whole history."""
        cal, start = self._tried.get(source_id), self._starts.get(source_id)
        if cal is None or start is None:
            return super().recheck(source_id)
        data = self.api.request("GET", "/calendars/events", params={
            "locationId": self.ctx.location_id, "calendarId": cal, "startTime": str(start - _AROUND_MS),
            "endTime": str(start + _AROUND_MS)})
        for e in data.get("events", []):
            rec = self.record(e)
            if str(rec.custom.get(SOURCE_ID_FIELD)) == source_id:
                self.remember(rec, rec.id)
                return rec.id
        return None

    def iter(self) -> Iterator[Record]:
        """Every event of every calendar (``GET /calendars/events`` is unpaged and needs a window)."""
        now = int(time.time() * 1000)
        for cal in self.calendars():
            data = self.api.request("GET", "/calendars/events", params={
                "locationId": self.ctx.location_id, "calendarId": cal, "startTime": "0", "endTime": str(now + _WINDOW_MS)})
            for e in data.get("events", []):
                yield self.record(e)
