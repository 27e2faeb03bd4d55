"""Pipedrive activities (v2), notes and files (v1 only) as Records (conventions in :mod:`._kinds`).

None of the three has writable custom fields, so the source id travels in their own text: a
``[source_id: X]`` marker at the end of the activity's note or the note's content, and the id at
the start of a file's name. Reading strips the marker again and reports it as ``custom.source_id``;
:meth:`find` scans once and keeps an index current with our own creates and deletes.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from ...errors import MappingError
from .._base import SOURCE_ID_FIELD, Record
from ._kinds import Kind, _link, _plain, _str_id

__all__ = ["ActivityKind", "NoteKind", "FileKind"]

_MARK = re.compile(r"\s*(?:<p>)?\[source_id: ([^\]]+)\](?:</p>)?\s*$")


def _hhmm(value: Any, field: str) -> str:
    if isinstance(value, bool):
        raise MappingError(f"activity {field} must be HH:MM, got {value!r}")
    if isinstance(value, (int, float, Decimal)):  # minutes
        minutes = int(value)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", text):
        raise MappingError(f"activity {field} must be HH:MM, got {value!r}")
    h, m = text.split(":")[:2]
    return f"{int(h):02d}:{m}"


def _mark(text: str | None, source_id: Any) -> str:
    base = (text or "").rstrip()
    tag = f"<p>[source_id: {source_id}]</p>"
    return f"{base}\n{tag}" if base else tag


def _unmark(text: str | None) -> tuple[str | None, str | None]:
    if not text:
        return text, None
    m = _MARK.search(text)
    if not m:
        return text, None
    rest = text[:m.start()].rstrip()
    return (rest or None), m.group(1)


class ActivityKind(Kind):
    object, path = "activity", "/activities"
    fields_read = ("subject", "type", "due_date", "done", "public_description")
    links = ("person_id", "deal_id", "lead_id", "org_id")

    def payload(self, record: Record, *, create: bool) -> dict:
        body = super().payload(record, create=create)
        for key in ("due_time", "duration"):
            if body.get(key) is not None:
                body[key] = _hhmm(body[key], key)
        if isinstance(body.get("location"), str):
            body["location"] = {"value": body["location"]}
        person = body.pop("person_id", None)
        if person is not None:  # the primary participant is the activity's person (§5 Activities)
            body["participants"] = [{"person_id": person, "primary": True}]
        sid = record.custom.get(SOURCE_ID_FIELD)
        if sid is not None:
            body["note"] = _mark(body.get("note"), sid)
        return body

    def update(self, record: Record) -> None:
        super().update(self._keep_marker(record, "note"))

    def record(self, data: dict) -> Record:
        rec = super().record(data)
        if data.get("due_time"):
            rec.fields["due_time"] = str(data["due_time"])[:5]
        if data.get("duration"):
            h, m = str(data["duration"]).split(":")[:2]
            rec.fields["duration"] = int(h) * 60 + int(m)
        if (data.get("location") or {}).get("value"):
            rec.fields["location"] = data["location"]["value"]
        note, sid = _unmark(data.get("note"))
        if note:
            rec.fields["note"] = note
        if sid is not None:
            rec.custom[SOURCE_ID_FIELD] = sid
        return rec

    def find(self, source_id: str) -> str | None:
        return self._scan_find(source_id)


class NoteKind(Kind):
    object, version, path = "note", "v1", "/notes"
    links = ("person_id", "deal_id", "org_id", "lead_id")
    fields_read = ("pinned_to_person_flag", "pinned_to_deal_flag", "pinned_to_organization_flag")

    def payload(self, record: Record, *, create: bool) -> dict:
        body = super().payload(record, create=create)
        if "owner_id" in body:  # the author (addNote user_id, "Only an admin can change the author")
            body["user_id"] = body.pop("owner_id")
        if body.get("add_time") is not None:
            body["add_time"] = _v1_time(body["add_time"])
        for k, v in list(body.items()):
            if k.startswith("pinned_to_") and isinstance(v, bool):
                body[k] = int(v)  # numberBoolean in the spec
        sid = record.custom.get(SOURCE_ID_FIELD)
        if sid is not None:
            if not body.get("content") and create:
                raise MappingError("a Pipedrive note needs content")
            if "content" in body or create:
                body["content"] = _mark(body.get("content"), sid)
        return body

    def update(self, record: Record) -> None:
        record = self._keep_marker(record, "content")
        self.api.call("PUT", "v1", f"{self.path}/{record.id}", json=self.payload(record, create=False))

    def record(self, data: dict) -> Record:
        rec = super().record(data)
        rec.fields = {k: v for k, v in rec.fields.items() if v}  # unpinned flags read back as false
        content, sid = _unmark(data.get("content"))
        if content:
            rec.fields["content"] = content
        if data.get("add_time"):
            rec.fields["add_time"] = str(data["add_time"]).replace(" ", "T")
        if sid is not None:
            rec.custom[SOURCE_ID_FIELD] = sid
        rec.owner_id = _str_id(data.get("user_id"))
        return rec

    def find(self, source_id: str) -> str | None:
        return self._scan_find(source_id)


def _v1_time(value: Any) -> str:
    """ISO 8601 (or a date) -> ``YYYY-MM-DD HH:MM:SS`` UTC, addNote's format."""
    text = str(_plain(value)).replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise MappingError(f"note add_time {value!r} is not an ISO 8601 date-time") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt.strftime("%Y-%m-%d %H:%M:%S")


class FileKind(Kind):
    object, version, path = "file", "v1", "/files"
    links = ("deal_id", "person_id", "org_id", "activity_id", "lead_id")
    vendor_max = 100  # getFiles: limit maximum 100

    def create(self, record: Record) -> str:
        path = record.fields.get("path")
        if not path:
            raise MappingError("a Pipedrive file record needs fields.path (the file to upload)")
        if record.tags or set(record.fields) - {"path", "name", "size"}:
            raise MappingError(f"Pipedrive files take only path and name, not {sorted(set(record.fields) - {'path', 'name', 'size'})}")
        links = {k: _link(k, v, "file") for k, v in record.links.items() if k in self.links}
        if len(links) != len(record.links):
            raise MappingError(f"Pipedrive files link to one of {', '.join(self.links)}, not {sorted(record.links)}")
        name = self._name(record, str(record.fields.get("name") or Path(path).name))
        with open(path, "rb") as fh:
            content = fh.read()
        data = self.api.call("POST", "v1", self.path, data={k: str(v) for k, v in links.items()},
                             files={"file": (name, content, "application/octet-stream")})["data"]
        new_id = str(data["id"])
        self.remember(record, new_id)
        return new_id

    @staticmethod
    def _name(record: Record, name: str) -> str:
        """The uploaded name: ``<source id>__<name>``, unless the name already starts with the id."""
        sid = record.custom.get(SOURCE_ID_FIELD)
        if sid is None or re.match(rf"{re.escape(str(sid))}(?![0-9A-Za-z])", name):
            return name
        return f"{sid}__{name}"

    def update(self, record: Record) -> None:
        if "name" not in record.fields:
            return  # only the name of an uploaded file can change (updateFile)
        record = self._keep_marker(record, "name")
        name = self._name(record, str(record.fields["name"]))
        self.api.call("PUT", "v1", f"{self.path}/{record.id}", data={"name": name})

    def record(self, data: dict) -> Record:
        rec = super().record(data)
        name = data.get("name") or data.get("file_name") or ""
        ours = re.match(r"(.+?)__(.+)$", name)
        own = re.match(r"([A-Za-z0-9.-]*[0-9][A-Za-z0-9.-]*)(?=[_ .-])", name)
        if ours:  # the marker we put in front
            rec.custom[SOURCE_ID_FIELD], name = ours.group(1), ours.group(2)
        elif own:  # a name that already started with an id (the export's own naming)
            rec.custom[SOURCE_ID_FIELD] = own.group(1)
        rec.fields["name"] = name
        if data.get("file_size") is not None:
            rec.fields["size"] = data["file_size"]
        rec.owner_id = _str_id(data.get("user_id"))
        return rec

    def find(self, source_id: str) -> str | None:
        return self._scan_find(source_id)
