"""Users' availability: a provider's weekly hours as a HighLevel availability schedule
(apps/calendars.json ``/calendars/schedules``, CreateScheduleDTO; ``Version: 2021-04-15``).

One source row - a provider's hours on one weekday - is one ``availability`` record:
``Record("availability", fields={"day": "tuesday", "from": "07:00", "to": "18:00"},
owner_id=<the provider's user>)``. Each user gets one schedule, named :data:`SCHEDULE_NAME`,
holding one weekday rule per record; the record's id is ``<schedule id>/<day>/<from>`` (a day may
hold several intervals; an update that moves the end keeps the id).
Adding a rule that is already there changes nothing, so a retried create can never make a
second one; a schedule's rules are read and written back under one lock, as engine workers add
rules to the same schedule at once.

A schedule rule carries no Source ID, so records of this object cannot be found by it: a
lost answer is settled by the rule's content instead (the same day and hours), which is what
makes it the same rule.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

from ...errors import MappingError, NotFoundError
from .._base import Record
from ._kinds import Context, Kind

__all__ = ["Availability", "SCHEDULE_NAME", "DAYS"]

#: the name of the schedule the toolkit writes for each user
SCHEDULE_NAME = "Migrated availability"
DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_SHORT = {d[:3]: d for d in DAYS}


def _day(value: Any) -> str:
    text = str(value or "").strip().lower()
    day = _SHORT.get(text[:3]) if text[:3] in _SHORT else None
    if day is None:
        raise MappingError(f"availability: {value!r} is not a day of the week")
    return day


def _hhmm(value: Any, name: str) -> str:
    text = str(value or "").strip()
    parts = text.split(":")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise MappingError(f"availability: {name} {value!r} is not a time of day (HH:MM)")
    return f"{int(parts[0]):02d}:{int(parts[1]):02d}"


class Availability(Kind):
    """Weekday rules of users' availability schedules."""

    object = "availability"

    def __init__(self, ctx: Context, timezone, users):
        super().__init__(ctx)
        self._timezone = timezone  # the location's, read once by the adapter
        self._users = users  # the search takes one user at a time (userId is required)
        self._writing = threading.Lock()

    # --- the user's schedule ----------------------------------------------------------------
    def _schedule_of(self, user: str) -> dict | None:
        found = self.api.request("GET", "/calendars/schedules/search",
                                 params={"locationId": self.ctx.location_id, "userId": user}).get("schedules", [])
        return next((s for s in found if s.get("name") == SCHEDULE_NAME), None)

    @staticmethod
    def _rule(record: Record) -> dict:
        unknown = sorted(set(record.fields) - {"day", "from", "to"})
        if unknown:
            raise MappingError(f"availability records have day, from and to only; got {', '.join(unknown)}")
        return {"type": "wday", "day": _day(record.fields.get("day")),
                "intervals": [{"from": _hhmm(record.fields.get("from"), "from"), "to": _hhmm(record.fields.get("to"), "to")}]}

    @staticmethod
    def _rid(schedule_id: str, rule: dict) -> str:
        return f"{schedule_id}/{rule['day']}/{rule['intervals'][0]['from']}"

    @staticmethod
    def _parse(id: str) -> tuple[str, str, str]:
        try:
            sid, day, start = id.split("/")
        except ValueError:
            raise MappingError(f"not an availability id: {id!r}") from None
        return sid, day, start

    @staticmethod
    def _at(rules: list[dict], day: str, start: str) -> dict | None:
        return next((r for r in rules if r.get("day") == day and r.get("intervals")
                     and r["intervals"][0].get("from") == start), None)

    # --- the five operations ----------------------------------------------------------------
    def create(self, record: Record) -> str:
        if not record.owner_id:
            raise MappingError("an availability record needs its user (the provider resolved by email)")
        rule = self._rule(record)
        with self._writing:
            schedule = self._schedule_of(record.owner_id)
            if schedule is None:
                schedule = self.api.request("POST", "/calendars/schedules", json={
                    "name": SCHEDULE_NAME, "locationId": self.ctx.location_id, "userId": record.owner_id,
                    "timezone": self._timezone(), "rules": [rule]})["schedule"]
            elif rule not in schedule.get("rules", []):
                self.api.request("PUT", f"/calendars/schedules/{schedule['id']}",
                                 json={"rules": list(schedule.get("rules", [])) + [rule]})
        return self._rid(schedule["id"], rule)

    def update(self, record: Record) -> None:
        sid, day, start = self._parse(record.id or "")
        with self._writing:
            schedule = self.api.request("GET", f"/calendars/schedules/{sid}")["schedule"]
            old = self._at(schedule.get("rules", []), day, start)
            if old is None:
                raise NotFoundError(f"availability {record.id} does not exist")
            end = old["intervals"][0]["to"]
            new = self._rule(Record("availability", fields={"day": record.fields.get("day", day),
                                                            "from": record.fields.get("from", start),
                                                            "to": record.fields.get("to", end)}))
            rules = [new if r is old else r for r in schedule.get("rules", [])]
            self.api.request("PUT", f"/calendars/schedules/{sid}", json={"rules": rules})

    def get(self, id: str) -> Record | None:
        sid, day, start = self._parse(id)
        try:
            schedule = self.api.request("GET", f"/calendars/schedules/{sid}")["schedule"]
        except NotFoundError:
            return None
        rule = self._at(schedule.get("rules", []), day, start)
        if rule is None:
            return None
        return Record("availability", fields={"day": day, "from": start, "to": rule["intervals"][0]["to"]},
                      owner_id=schedule.get("userId"), id=id)

    def delete(self, id: str) -> None:
        sid, day, start = self._parse(id)
        with self._writing:
            try:
                schedule = self.api.request("GET", f"/calendars/schedules/{sid}")["schedule"]
            except NotFoundError:
                return
            gone = self._at(schedule.get("rules", []), day, start)
            rules = [r for r in schedule.get("rules", []) if r is not gone]
            if rules:
                if gone is not None:
                    self.api.request("PUT", f"/calendars/schedules/{sid}", json={"rules": rules})
            else:  # the last rule of a schedule the toolkit made: the schedule goes too
                self.quiet_delete(f"/calendars/schedules/{sid}")

    def iter(self) -> Iterator[Record]:
        for user in self._users():
            schedule = self._schedule_of(user.id)
            if schedule is None:
                continue
            for rule in schedule.get("rules", []):
                for iv in rule.get("intervals", []):
                    one = {"type": "wday", "day": rule.get("day"), "intervals": [iv]}
                    yield Record("availability", fields={"day": rule.get("day"), "from": iv["from"], "to": iv["to"]},
                                 owner_id=schedule.get("userId"), id=self._rid(schedule["id"], one))

    def find(self, source_id: str) -> str | None:
        return None  # rules carry no Source ID; a repeated create adds nothing (see the module docstring)
