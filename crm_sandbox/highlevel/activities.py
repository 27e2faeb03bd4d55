"""Tasks and notes in the HighLevel sandbox: they exist only under a contact (apps/contacts.json
``/contacts/{contactId}/tasks|notes``; research §4), with a location-wide task search
(apps/locations.json ``POST /locations/{id}/tasks/search``, ``skip``/``limit``, research §3)."""

from __future__ import annotations

from .common import ApiError, now_iso, parse_time

__all__ = ["ActivityStore"]

_TASK_FIELDS = ("title", "body", "dueDate", "completed", "assignedTo")
_NOTE_FIELDS = ("body", "userId", "title", "color", "pinned")


class ActivityStore:
    """Mixin of :class:`~.state.State`: tasks and notes."""

    tasks: dict[str, dict]
    notes: dict[str, dict]

    # --- tasks --------------------------------------------------------------------------
    def _apply_task(self, t: dict, body: dict) -> None:
        self.check_owner(body.get("assignedTo"))
        if "dueDate" in body:
            parse_time(body["dueDate"], "dueDate")
        if "title" in body and not str(body["title"]).strip():
            raise ApiError(422, ["title should not be empty"])
        t.update({k: body[k] for k in _TASK_FIELDS if k in body})
        t["dateUpdated"] = now_iso()

    def create_task(self, cid: str, body: dict) -> dict:
        with self.lock:
            self.contact(cid)
            t = {"id": self.new_id(), "contactId": cid, "dateAdded": now_iso()}
            self._apply_task(t, body)
            self.tasks[t["id"]] = t
            return dict(t)

    def _task(self, cid: str, tid: str) -> dict:
        self.contact(cid)
        t = self.tasks.get(tid)
        if t is None or t["contactId"] != cid:
            raise ApiError(404, "Task not found")
        return t

    def get_task(self, cid: str, tid: str) -> dict:
        with self.lock:
            return dict(self._task(cid, tid))

    def update_task(self, cid: str, tid: str, body: dict) -> dict:
        with self.lock:
            t = self._task(cid, tid)
            self._apply_task(t, body)
            return dict(t)

    def delete_task(self, cid: str, tid: str) -> None:
        with self.lock:
            self._task(cid, tid)
            del self.tasks[tid]

    def tasks_of(self, cid: str) -> list[dict]:
        with self.lock:
            self.contact(cid)
            return [dict(t) for t in self.tasks.values() if t["contactId"] == cid]

    def search_tasks(self, location_id: str, body: dict) -> dict:
        with self.lock:
            self.check_location(location_id)
            hits = sorted(self.tasks.values(), key=lambda t: (t["dateAdded"], t["id"]))
            if body.get("contactId"):
                hits = [t for t in hits if t["contactId"] in body["contactId"]]
            if body.get("assignedTo"):
                hits = [t for t in hits if t.get("assignedTo") in body["assignedTo"]]
            if "completed" in body:
                hits = [t for t in hits if bool(t.get("completed")) == body["completed"]]
            if body.get("businessId"):
                hits = [t for t in hits if self.contacts[t["contactId"]].get("businessId") == body["businessId"]]
            q = str(body.get("query") or "").lower()
            if q:
                hits = [t for t in hits if q in str(t.get("title", "")).lower() or q in str(t.get("body", "")).lower()]
            skip, limit = int(body.get("skip") or 0), int(body.get("limit") or 25)
            return {"tasks": [dict(t) for t in hits[skip: skip + limit]]}

    # --- notes --------------------------------------------------------------------------
    def _apply_note(self, n: dict, body: dict) -> None:
        if body.get("userId") not in (None, "") and body["userId"] not in self.user_ids():
            raise ApiError(422, [f"userId must be the id of a user of this location, got {body['userId']}"])
        if "body" in body and not str(body["body"]).strip():
            raise ApiError(422, ["body should not be empty"])
        n.update({k: body[k] for k in _NOTE_FIELDS if k in body})

    def create_note(self, cid: str, body: dict) -> dict:
        with self.lock:
            self.contact(cid)
            n = {"id": self.new_id(), "contactId": cid, "dateAdded": now_iso()}
            self._apply_note(n, body)
            self.notes[n["id"]] = n
            return dict(n)

    def _note(self, cid: str, nid: str) -> dict:
        self.contact(cid)
        n = self.notes.get(nid)
        if n is None or n["contactId"] != cid:
            raise ApiError(404, "Note not found")
        return n

    def get_note(self, cid: str, nid: str) -> dict:
        with self.lock:
            return dict(self._note(cid, nid))

    def update_note(self, cid: str, nid: str, body: dict) -> dict:
        with self.lock:
            n = self._note(cid, nid)
            self._apply_note(n, body)
            return dict(n)

    def delete_note(self, cid: str, nid: str) -> None:
        with self.lock:
            self._note(cid, nid)
            del self.notes[nid]

    def notes_of(self, cid: str) -> list[dict]:
        with self.lock:
            self.contact(cid)
            return [dict(n) for n in self.notes.values() if n["contactId"] == cid]
