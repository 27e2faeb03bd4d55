"""Calendars and appointments (events) in the HighLevel sandbox (apps/calendars.json, Version
``2021-04-15``; research §1, §4 "Calendars").

Calendars are seeded (the toolkit does not create them). An appointment needs a calendar, a
contact and a start time; ``endTime`` defaults to the start plus the calendar's slot length.
Without ``ignoreFreeSlotValidation`` a slot must be free: not in the past and not overlapping
another live appointment on the same calendar - which is why historical imports must set it
(research §4). ``GET /calendars/events`` takes an epoch-millisecond window and one of
``calendarId``/``userId``/``groupId``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .common import ApiError, now_iso, parse_time, stable_id

__all__ = ["CalendarStore"]

STATUSES = ("new", "confirmed", "cancelled", "showed", "noshow", "invalid")
_EDITABLE = ("title", "appointmentStatus", "assignedUserId", "description", "address", "calendarId",
             "startTime", "endTime", "meetingLocationType", "rrule")


_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_HHMM = __import__("re").compile(r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$")


class CalendarStore:
    """Mixin of :class:`~.state.State`: calendars, their appointments, and users' availability
    schedules (``/calendars/schedules``, CreateScheduleDTO: rules of weekday intervals)."""

    calendars: list[dict]
    events: dict[str, dict]
    schedules: dict[str, dict]

    # --- availability schedules ------------------------------------------------------------
    def _rules(self, rules) -> list[dict]:
        if not isinstance(rules, list):
            raise ApiError(422, ["rules must be an array"])
        out = []
        for r in rules:
            if not isinstance(r, dict) or r.get("type") not in ("wday", "date"):
                raise ApiError(422, ["rules.type must be one of wday, date"])
            if r["type"] == "wday" and r.get("day") not in _DAYS:
                raise ApiError(422, [f"rules.day must be one of {', '.join(_DAYS)}"])
            ivs = r.get("intervals")
            if not isinstance(ivs, list) or not all(isinstance(i, dict) and _HHMM.match(str(i.get("from", "")))
                                                     and _HHMM.match(str(i.get("to", ""))) for i in ivs):
                raise ApiError(422, ["rules.intervals must be [{from: HH:MM, to: HH:MM}]"])
            out.append({k: r[k] for k in ("type", "day", "date", "intervals") if k in r})
        return out

    def create_schedule(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body.get("locationId"))
            missing = [k for k in ("timezone", "locationId", "name", "userId") if not body.get(k)]
            if missing:
                raise ApiError(422, [f"{k} should not be empty" for k in missing])
            if body["userId"] not in self.user_ids():
                raise ApiError(422, [f"userId must be the id of a user of this location, got {body['userId']}"])
            sid = self.new_id()
            now = now_iso()
            self.schedules[sid] = {"id": sid, "name": body["name"], "locationId": self.location_id,
                                   "rules": self._rules(body.get("rules", [])), "timezone": body["timezone"],
                                   "userId": body["userId"], "calendarIds": list(body.get("calendarIds") or []),
                                   "dateAdded": now, "dateUpdated": now}
            return {"schedule": dict(self.schedules[sid])}

    def _schedule(self, sid: str) -> dict:
        s = self.schedules.get(sid)
        if s is None:
            raise ApiError(404, f"Schedule {sid} not found")
        return s

    def get_schedule(self, sid: str) -> dict:
        with self.lock:
            return {"schedule": dict(self._schedule(sid))}

    def update_schedule(self, sid: str, body: dict) -> dict:
        with self.lock:
            s = self._schedule(sid)
            if "rules" in body:
                s["rules"] = self._rules(body["rules"])
            s.update({k: body[k] for k in ("name", "timezone") if k in body})
            s["dateUpdated"] = now_iso()
            return {"schedule": dict(s)}

    def delete_schedule(self, sid: str) -> dict:
        with self.lock:
            self._schedule(sid)
            del self.schedules[sid]
            return {"succeeded": True}

    def search_schedules(self, query: dict[str, str]) -> dict:
        with self.lock:
            missing = [k for k in ("locationId", "userId") if not query.get(k)]
            if missing:  # both are required (apps/calendars.json getAllSchedules)
                raise ApiError(422, [f"{k} should not be empty" for k in missing])
            self.check_location(query["locationId"])
            hits = [dict(s) for s in self.schedules.values()
                    if not query.get("userId") or s["userId"] == query["userId"]]
            return {"schedules": hits}

    def seed_calendar(self, c: dict) -> dict:
        cid = c.get("id") or stable_id(self.location_id, "calendar", c["name"])
        return {"id": cid, "name": c["name"], "locationId": self.location_id, "isActive": True,
                "calendarType": c.get("calendarType", "event"), "description": c.get("description", ""),
                "slotDuration": c.get("slotDuration", 30), "slotDurationUnit": "mins",
                "teamMembers": [{"userId": u, "priority": 0.5} for u in c.get("teamMembers", [])]}

    def list_calendars(self, location_id: str) -> list[dict]:
        with self.lock:
            self.check_location(location_id)
            return [dict(c) for c in self.calendars]

    def _calendar(self, cal_id: str) -> dict:
        c = next((c for c in self.calendars if c["id"] == cal_id), None)
        if c is None:
            raise ApiError(400, f"Calendar {cal_id} not found")
        return c

    def _apply_event(self, e: dict, body: dict) -> None:
        cal = self._calendar(body.get("calendarId", e.get("calendarId")))
        if body.get("assignedUserId") not in (None, "") and body["assignedUserId"] not in self.user_ids():
            raise ApiError(422, [f"assignedUserId must be the id of a user of this location, got {body['assignedUserId']}"])
        start = parse_time(body.get("startTime", e.get("startTime")), "startTime")
        if "endTime" in body:
            end = parse_time(body["endTime"], "endTime")
        elif "endTime" in e and "startTime" not in body:
            end = parse_time(e["endTime"], "endTime")
        else:
            end = start + timedelta(minutes=cal["slotDuration"])
        if end < start:
            raise ApiError(422, ["endTime must not be before startTime"])
        if not body.get("ignoreFreeSlotValidation"):
            self._check_free(cal["id"], start, end, e.get("id"))
        e.update({k: body[k] for k in _EDITABLE if k in body})
        if "endTime" not in body and ("startTime" in body or "endTime" not in e):
            e["endTime"] = end.isoformat().replace("+00:00", "Z")
        e["dateUpdated"] = now_iso()

    def _check_free(self, cal_id: str, start: datetime, end: datetime, own_id: str | None) -> None:
        if start < datetime.now(timezone.utc):
            raise ApiError(400, "The slot you have selected is no longer available")
        for other in self.events.values():
            if other["calendarId"] != cal_id or other["id"] == own_id or other.get("appointmentStatus") == "cancelled":
                continue
            o_start, o_end = parse_time(other["startTime"], "startTime"), parse_time(other["endTime"], "endTime")
            if start < o_end and o_start < end:
                raise ApiError(400, "The slot you have selected is no longer available")

    def create_event(self, body: dict) -> dict:
        with self.lock:
            self.check_location(body["locationId"])
            if body["contactId"] not in self.contacts:
                raise ApiError(400, f"Contact with id {body['contactId']} not found")
            now = now_iso()
            e = {"id": self.new_id(), "locationId": self.location_id, "contactId": body["contactId"],
                 "appointmentStatus": "new", "groupId": "", "users": [], "isRecurring": False,
                 "dateAdded": now, "createdBy": {"source": "third_party"}}
            self._apply_event(e, body)
            self.events[e["id"]] = e
            return self._render_short(e)

    def _event(self, eid: str) -> dict:
        e = self.events.get(eid)
        if e is None:
            raise ApiError(404, "Event not found")
        return e

    def get_event(self, eid: str) -> dict:
        with self.lock:
            return self.render_event(self._event(eid))

    def update_event(self, eid: str, body: dict) -> dict:
        with self.lock:
            e = self._event(eid)
            self._apply_event(e, body)
            return self._render_short(e)

    def delete_event(self, eid: str) -> None:
        with self.lock:
            self._event(eid)
            del self.events[eid]

    def list_events(self, query: dict[str, str]) -> list[dict]:
        with self.lock:
            self.check_location(query.get("locationId"))
            if not any(query.get(k) for k in ("calendarId", "userId", "groupId")):
                raise ApiError(422, ["one of calendarId, userId or groupId should not be empty"])
            try:
                lo, hi = int(query["startTime"]), int(query["endTime"])
            except ValueError:
                raise ApiError(422, ["startTime and endTime must be epoch milliseconds"]) from None
            hits = []
            for e in sorted(self.events.values(), key=lambda e: (parse_time(e["startTime"], "startTime"), e["id"])):
                ms = int(parse_time(e["startTime"], "startTime").timestamp() * 1000)
                if not lo <= ms <= hi:
                    continue
                if query.get("calendarId") and e["calendarId"] != query["calendarId"]:
                    continue
                if query.get("userId") and e.get("assignedUserId") != query["userId"]:
                    continue
                if query.get("groupId") and e.get("groupId") != query["groupId"]:
                    continue
                hits.append(self.render_event(e))
            return hits

    def render_event(self, e: dict) -> dict:
        """CalendarEventDTO: ``assignedUserId`` and ``title`` are required there, so absent ones are ""."""
        out = {k: v for k, v in e.items() if v is not None}
        out.setdefault("assignedUserId", "")
        out.setdefault("title", "")
        return out

    def _render_short(self, e: dict) -> dict:
        keys = ("id", "calendarId", "locationId", "contactId", "startTime", "endTime", "title", "appointmentStatus",
                "assignedUserId", "address", "isRecurring", "rrule", "meetingLocationType")
        return {k: e[k] for k in keys if e.get(k) is not None}
