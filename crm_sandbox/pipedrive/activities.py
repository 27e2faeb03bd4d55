"""Activities (v2), notes and files (v1 only): the vendor's rules on each (§5).

An activity's ``type`` must be the ``key_string`` of an active activity type; its person comes
from the primary participant (§5 Activities: "v2 ``person_id`` is effectively derived from the
primary participant"). A note needs content and one parent (addNote); its ``add_time`` may be set
in the past. A file is uploaded as multipart and linked to one item (addFile).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .fields import _TIME, _check_date
from .records import _drop_none
from .state import ApiError, now_v1, now_v2

__all__ = ["ActivitiesMixin", "NOTE_PARENTS", "FILE_PARENTS"]

NOTE_PARENTS = ("lead_id", "deal_id", "person_id", "org_id", "project_id", "task_id")
FILE_PARENTS = ("deal_id", "person_id", "org_id", "product_id", "activity_id", "lead_id", "project_id")
_SCRIPT = re.compile(r"<script\b.*?</script\s*>", re.IGNORECASE | re.DOTALL)
_ON_ATTR = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.IGNORECASE)


def sanitize(html: str) -> str:
    """Note content is "Subject to sanitization on the back-end" (addNote): scripts and inline
    event handlers go; everything else is kept as written."""
    return _ON_ATTR.sub("", _SCRIPT.sub("", html))


def _hms(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _TIME.match(value):
        raise ApiError(400, f"{field} must be a time HH:MM or HH:MM:SS")
    return value if len(value) == 8 else value + ":00"


class ActivitiesMixin:
    """Activities, notes and files (needs CoreState and RecordsMixin)."""

    def _init_activities(self) -> None:
        self.activities: dict[int, dict] = {}
        self.notes: dict[int, dict] = {}
        self.files: dict[int, dict] = {}
        self.file_bytes: dict[int, bytes] = {}

    def _check_links(self, body: dict, keys: tuple[str, ...]) -> None:
        stores = {"deal_id": (self.deals, "deal"), "person_id": (self.persons, "person"),
                  "org_id": (self.organizations, "organization"), "lead_id": (self.leads, "lead"),
                  "activity_id": (self.activities, "activity")}
        for key in keys:
            if body.get(key) is None:
                continue
            if key not in stores:
                raise ApiError(400, f"{key}: linking to {key[:-3]}s is not available in this company")
            store, what = stores[key]
            self._live(store, body[key], what, key)

    # --- activities (v2) ----------------------------------------------------------------------
    def _apply_activity(self, a: dict, body: dict) -> None:
        self._common(body)
        if "type" in body:
            self.check_activity_type(body["type"])
        self._check_links(body, ("deal_id", "lead_id", "person_id", "org_id"))
        participants = body.get("participants")
        if participants is not None:
            for p in participants:
                self._live(self.persons, p.get("person_id"), "person", "participants.person_id")
            if sum(1 for p in participants if p.get("primary")) > 1:
                raise ApiError(400, "participants: only one participant can be primary")
        if "due_date" in body and body["due_date"] is not None and not _check_date(body["due_date"]):
            raise ApiError(400, "due_date must be a date YYYY-MM-DD")
        for key in ("due_time", "duration"):
            if body.get(key) is not None:
                body = {**body, key: _hms(body[key], key)}
        for k, v in body.items():
            a[k] = v
        if participants is not None:
            primary = next((p for p in participants if p.get("primary")), participants[0] if participants else None)
            a["person_id"] = primary["person_id"] if primary else None
            a["participants"] = [{"person_id": p["person_id"], "primary": p is primary} for p in participants]
        elif "person_id" in body:
            a["participants"] = [{"person_id": body["person_id"], "primary": True}] if body["person_id"] else []
        if body.get("done") and not a.get("marked_as_done_time"):
            a["marked_as_done_time"] = now_v2()
        elif "done" in body and not body["done"]:
            a.pop("marked_as_done_time", None)
        a["update_time"] = now_v2()

    def add_activity(self, body: dict) -> dict:
        with self.lock:
            a = {"id": self.next_id("activity"), "subject": "", "type": "call", "owner_id": self.me,
                 "creator_user_id": self.me, "is_deleted": False, "add_time": now_v2(), "busy": False,
                 "done": False, "participants": [], "attendees": [], "priority": 0}
            self._apply_activity(a, body)
            if not a["subject"]:
                a["subject"] = next(t["name"] for t in self.activity_types.values() if t["key_string"] == a["type"])
            self.activities[a["id"]] = a
            return _drop_none(dict(a))

    def update_activity(self, aid: int, body: dict) -> dict:
        with self.lock:
            a = self._find(self.activities, aid, "Activity")
            self._apply_activity(a, body)
            return _drop_none(dict(a))

    def get_activity(self, aid: int) -> dict:
        with self.lock:
            return _drop_none(dict(self._find(self.activities, aid, "Activity")))

    def delete_activity(self, aid: int) -> dict:
        with self.lock:
            a = self._find(self.activities, aid, "Activity")
            a["is_deleted"], a["update_time"] = True, now_v2()
            return {"id": aid}

    # --- notes (v1) -------------------------------------------------------------------------
    def _apply_note(self, n: dict, body: dict, create: bool) -> None:
        if create and not any(body.get(k) is not None for k in NOTE_PARENTS):
            raise ApiError(400, f"One of {', '.join(NOTE_PARENTS)} is required")
        if "content" in body and not str(body["content"] or "").strip():
            raise ApiError(400, "content must not be empty")
        self._check_links(body, NOTE_PARENTS)
        self.check_user(body.get("user_id"), "user_id")
        if body.get("user_id") is not None and body["user_id"] != n.get("user_id") and \
                not any(a.get("admin") for a in self.users[self.me]["access"]):
            raise ApiError(403, "Only an admin can change the author of a note")  # addNote user_id
        if body.get("add_time") is not None:
            try:
                datetime.strptime(body["add_time"], "%Y-%m-%d %H:%M:%S")
            except (TypeError, ValueError):
                raise ApiError(400, "add_time must be in the format YYYY-MM-DD HH:MM:SS") from None
        for k, v in body.items():
            n[k] = sanitize(v) if k == "content" else v
        n["update_time"] = now_v1()

    def add_note(self, body: dict) -> dict:
        with self.lock:
            n = {"id": self.next_id("note"), "user_id": self.me, "active_flag": True, "add_time": now_v1(),
                 "last_update_user_id": self.me}
            self._apply_note(n, body, create=True)
            self.notes[n["id"]] = n
            return self.render_note(n)

    def _note(self, nid: int) -> dict:
        n = self.notes.get(nid)
        if n is None:
            raise ApiError(404, "Note not found")
        return n

    def update_note(self, nid: int, body: dict) -> dict:
        with self.lock:
            n = self._note(nid)
            self._apply_note(n, body, create=False)
            n["last_update_user_id"] = self.me
            return self.render_note(n)

    def get_note(self, nid: int) -> dict:
        with self.lock:
            return self.render_note(self._note(nid))

    def delete_note(self, nid: int) -> bool:
        """deleteNote: "Deletes a specific note" - gone, not flagged."""
        with self.lock:
            self._note(nid)
            del self.notes[nid]
            return True

    def render_note(self, n: dict) -> dict:
        out = {k: v for k, v in n.items() if not k.startswith("pinned_")}
        for flag in ("deal", "organization", "person", "project", "task"):
            out[f"pinned_to_{flag}_flag"] = bool(n.get(f"pinned_to_{flag}_flag", 0))
        if n.get("person_id") in self.persons:
            out["person"] = {"name": self.persons[n["person_id"]].get("name", "")}
        if n.get("org_id") in self.organizations:
            out["organization"] = {"name": self.organizations[n["org_id"]].get("name", "")}
        if n.get("deal_id") in self.deals:
            out["deal"] = {"title": self.deals[n["deal_id"]].get("title", "")}
        u = self.users.get(n["user_id"])
        if u:
            out["user"] = {"email": u["email"], "icon_url": "", "is_you": u["id"] == self.me, "name": u["name"]}
        return _drop_none(out)

    # --- files (v1) -------------------------------------------------------------------------
    def add_file(self, filename: str, content: bytes, links: dict) -> dict:
        with self.lock:
            if not filename:
                raise ApiError(400, "file: a file with a name is required")
            if not any(links.get(k) is not None for k in FILE_PARENTS):
                raise ApiError(400, f"One of {', '.join(FILE_PARENTS)} is required")
            self._check_links(links, FILE_PARENTS)
            fid = self.next_id("file")
            f = {"id": fid, "user_id": self.me, "add_time": now_v1(), "update_time": now_v1(),
                 "file_name": filename, "file_size": len(content), "active_flag": True, "inline_flag": False,
                 "remote_location": "s3", "remote_id": f"{self.company['id']}/{fid}", "s3_bucket": "pipedrive-files",
                 "name": filename, "description": "", **{k: v for k, v in links.items() if v is not None}}
            self.files[fid] = f
            self.file_bytes[fid] = content
            return self.render_file(f)

    def _file(self, fid: int) -> dict:
        f = self.files.get(fid)
        if f is None or not f["active_flag"]:
            raise ApiError(404, "File not found")
        return f

    def get_file(self, fid: int) -> dict:
        with self.lock:
            return self.render_file(self._file(fid))

    def update_file(self, fid: int, body: dict) -> dict:
        with self.lock:
            f = self._file(fid)
            if "name" in body:
                if not str(body["name"]).strip():
                    raise ApiError(400, "name must not be empty")
                f["name"] = body["name"]
            f["update_time"] = now_v1()
            return self.render_file(f)

    def delete_file(self, fid: int) -> dict:
        """deleteFile: marked deleted, purged after 30 days (§6)."""
        with self.lock:
            f = self._file(fid)
            f["active_flag"] = False
            return {"id": fid}

    def download_file(self, fid: int) -> bytes:
        with self.lock:
            self._file(fid)
            return self.file_bytes[fid]

    def render_file(self, f: dict) -> dict:
        out = dict(f)
        out["url"] = f"https://{self.company['domain']}.pipedrive.com/api/v1/files/{f['id']}/download"
        if f.get("person_id") in self.persons:
            out["person_name"] = self.persons[f["person_id"]].get("name", "")
        if f.get("org_id") in self.organizations:
            out["org_name"] = self.organizations[f["org_id"]].get("name", "")
        if f.get("deal_id") in self.deals:
            out["deal_name"] = self.deals[f["deal_id"]].get("title", "")
        return out
