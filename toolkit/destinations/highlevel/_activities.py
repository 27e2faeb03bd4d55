"""Tasks, notes and files: records that HighLevel keeps under a contact.

Tasks and notes are addressed only as ``/contacts/{contactId}/tasks|notes/{id}`` (apps/contacts.json),
so their ids here are ``contactId/taskId`` and ``contactId/noteId`` (see ``_api.join_id``). They
have no custom fields; the source id is the last line of their text (:mod:`._text`).

Files (research §4 "Files"): the media library has no link to contacts, so a file is uploaded
(``POST /medias/upload-file``, multipart, at most 25 MB) and then attached to its contact with a
note carrying its name and URL - the second of the two ways the note names (the other, a
FILE_UPLOAD custom field, uploads the file again into one field). A file's id is
``contactId/noteId/mediaId``. A file over the limit raises :class:`FileTooLargeError` before
anything is sent, so the caller can keep it as a link instead.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
from typing import Any, Iterator

from ...errors import MappingError, NotFoundError, RateLimitedError, RetriableError
from .._base import SOURCE_ID_FIELD, Record
from ._api import FileTooLargeError, join_id, split_id
from ._kinds import Kind
from ._text import split_source, with_source
from ._values import plain

__all__ = ["Tasks", "Notes", "Files", "MAX_UPLOAD_BYTES"]

log = logging.getLogger("toolkit.destinations.highlevel")

#: "If adding a file, maximum allowed is 25 MB" (apps/medias.json upload-media-content)
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
_ATTACHMENT = re.compile(r"^Attached file: (?P<name>[^\n]+)\n(?P<url>\S+)$")


def _contact_of(record: Record, object: str) -> str:
    cid = record.links.get("contactId")
    if not cid:
        raise MappingError(f"a HighLevel {object} belongs to a contact: links['contactId'] is required")
    extra = sorted(set(record.links) - {"contactId"})
    if extra:
        raise MappingError(f"HighLevel {object}s link only to a contact (contactId); got {', '.join(extra)}")
    return cid


def _fields_check(record: Record, allowed: tuple[str, ...], object: str) -> None:
    unknown = sorted(set(record.fields) - set(allowed))
    if unknown:
        raise MappingError(f"HighLevel {object}s have no field {', '.join(unknown)} (known: {', '.join(allowed)})")


class _ContactChildren(Kind):
    """Shared by tasks and notes: a text field carrying the source id, an owner, a contact."""

    collection = ""  # "tasks" | "notes"
    text_field = "body"
    owner_field = ""
    allowed: tuple[str, ...] = ()

    def payload(self, record: Record, *, create: bool, current_source: str | None = None) -> dict[str, Any]:
        _fields_check(record, self.allowed, self.object)
        sid = self.no_custom_but_source(record) or current_source
        body = {k: plain(v) for k, v in record.fields.items()}
        if create or self.text_field in body:
            text = with_source(body.get(self.text_field), sid)
            body.pop(self.text_field, None)
            if text is not None:
                body[self.text_field] = text
        if record.owner_id is not None:
            body[self.owner_field] = record.owner_id
        return body

    def create(self, record: Record) -> str:
        cid = _contact_of(record, self.object)
        body = self.payload(record, create=True)
        tried(self, record, cid)
        data = self.api.request("POST", f"/contacts/{cid}/{self.collection}", json=body)
        new_id = join_id(cid, data[self.object]["id"])
        self.remember(record, new_id)
        return new_id

    def update(self, record: Record) -> None:
        cid, own = split_id(record.id or "", 2, self.object)
        if record.links.get("contactId") not in (None, cid):
            raise MappingError(f"a HighLevel {self.object} cannot move to another contact ({cid} -> "
                               f"{record.links['contactId']}); delete it and create it anew")
        current = None
        if self.text_field in record.fields and SOURCE_ID_FIELD not in record.custom:
            # rewriting the text must keep the source-id line it already has
            before = self.get(record.id)
            current = before.custom.get(SOURCE_ID_FIELD) if before else None
        self.api.request("PUT", f"/contacts/{cid}/{self.collection}/{own}",
                         json=self.payload(record, create=False, current_source=current))

    def get(self, id: str) -> Record | None:
        cid, own = split_id(id, 2, self.object)
        try:
            data = self.api.request("GET", f"/contacts/{cid}/{self.collection}/{own}")
        except NotFoundError:
            return None
        return self.record(data[self.object], cid)

    def delete(self, id: str) -> None:
        cid, own = split_id(id, 2, self.object)
        self.quiet_delete(f"/contacts/{cid}/{self.collection}/{own}")
        self.forget(id)

    def record(self, data: dict, cid: str) -> Record:
        text, sid = split_source(data.get(self.text_field))
        fields = {k: data[k] for k in self.allowed if data.get(k) is not None and k != self.text_field}
        if text:
            fields[self.text_field] = text
        return Record(object=self.object, fields=fields, custom={SOURCE_ID_FIELD: sid} if sid else {},
                      owner_id=data.get(self.owner_field) or None, links={"contactId": cid},
                      id=join_id(cid, data["id"]))


    def under(self, cid: str) -> Iterator[Record]:
        """This kind's records under one contact (``GET /contacts/{id}/tasks|notes``, unpaged)."""
        for item in self.api.request("GET", f"/contacts/{cid}/{self.collection}").get(self.collection, []):
            if self.object == "note" and _ATTACHMENT.match(split_source(item.get("body"))[0] or ""):
                continue  # file attachments are files
            yield self.record(item, cid)

    def recheck(self, source_id: str) -> str | None:
        return recheck_under(self, source_id)


def tried(kind: Kind, record: Record, cid: str) -> None:
    """Note the contact a create is about to go under: if its answer is lost, that is the one
    place to look (:func:`recheck_under`) instead of every contact's list."""
    sid = record.custom.get(SOURCE_ID_FIELD)
    if sid is not None:
        with kind._index_lock:
            kind._tried[str(sid)] = cid


def recheck_under(kind: Kind, source_id: str) -> str | None:
    """A miss after the index was built: the record can only be one whose create this process
    tried and got no answer to, so look under the contact it went to (one call); a source id
    never tried here gets a full rescan."""
    cid = kind._tried.get(source_id)
    if cid is None:
        return Kind.recheck(kind, source_id)
    for rec in kind.under(cid):
        if str(rec.custom.get(SOURCE_ID_FIELD)) == source_id and rec.id:
            kind.remember(rec, rec.id)
            return rec.id
    return None


class Tasks(_ContactChildren):
    object, collection, owner_field = "task", "tasks", "assignedTo"
    allowed = ("title", "body", "dueDate", "completed")

    def payload(self, record: Record, *, create: bool, current_source: str | None = None) -> dict[str, Any]:
        body = super().payload(record, create=create, current_source=current_source)
        if create:
            body.setdefault("completed", False)  # required by CreateTaskParams; a migrated open task
        return body

    def iter(self) -> Iterator[Record]:
        """``POST /locations/{id}/tasks/search`` with ``skip``/``limit`` (research §3)."""
        limit, skip = self.ctx.page(100), 0
        while True:
            items = self.api.request("POST", f"/locations/{self.ctx.location_id}/tasks/search",
                                     json={"skip": skip, "limit": limit}).get("tasks", [])
            for t in items:
                yield self.record(t, t["contactId"])
            if len(items) < limit:
                return
            skip += limit


def contact_notes(kind: Kind, contacts: Kind) -> Iterator[tuple[str, dict]]:
    """(contactId, note) for every note of every contact: notes are listed per contact only
    (``GET /contacts/{id}/notes``, unpaged), so this costs one call per contact - once for
    notes and files together, and in parallel, while a read-back lasts (:mod:`._bulk_reads`)."""
    if kind.ctx.reads is not None:
        yield from kind.ctx.reads.notes()
        return
    for contact in contacts.iter():
        for n in kind.api.request("GET", f"/contacts/{contact.id}/notes").get("notes", []):
            yield contact.id, n


class Notes(_ContactChildren):
    object, collection, owner_field = "note", "notes", "userId"
    allowed = ("body", "title")

    def __init__(self, ctx, contacts: Kind):
        super().__init__(ctx)
        self.contacts = contacts

    def iter(self) -> Iterator[Record]:
        for cid, n in contact_notes(self, self.contacts):
            if not _ATTACHMENT.match(split_source(n.get("body"))[0] or ""):  # file attachments are files
                yield self.record(n, cid)


def library_name(name: str, sid: str | None) -> str:
    """The name an upload takes in the media library: the Source ID first, so a migrated file
    can be traced, and an upload whose answer was lost can be found, by name alone."""
    return f"{sid}_{name}" if sid else name


class Files(Kind):
    object = "file"

    def __init__(self, ctx, contacts: Kind):
        super().__init__(ctx)
        self.contacts = contacts

    def create(self, record: Record) -> str:
        _fields_check(record, ("path", "name"), "file")
        cid = _contact_of(record, "file")
        sid = self.no_custom_but_source(record)
        path = record.fields.get("path")
        if not path:
            raise MappingError("a file record needs fields['path'] (the local file to upload)")
        try:
            size = os.path.getsize(path)
        except OSError as e:
            raise MappingError(f"file {path}: cannot be read ({e.strerror or e})") from None
        name = str(record.fields.get("name") or os.path.basename(path))
        if size > MAX_UPLOAD_BYTES:
            raise FileTooLargeError(f"file {path} is {size:,} bytes; HighLevel uploads are limited to 25 MB "
                                    f"({MAX_UPLOAD_BYTES:,} bytes)", path=path, size=size, limit=MAX_UPLOAD_BYTES)
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        # a second attempt in this process: the first one's upload may be in the library with
        # no note attaching it (the note's answer, or the lookup after it, failed), so take it
        again = sid is not None and str(sid) in self._tried
        tried(self, record, cid)
        up = (self._uploaded(library_name(name, sid)) if again else None) or self._upload(path, name, ctype, sid)
        body = with_source(f"Attached file: {name}\n{up['url']}", sid)
        try:
            note = self.api.request("POST", f"/contacts/{cid}/notes", json={"body": body})["note"]
        except RetriableError:
            # the note may exist with its answer lost: look under the contact before undoing
            note = next((n for n in self.api.request("GET", f"/contacts/{cid}/notes").get("notes", [])
                         if n.get("body") == body), None)
            if note is None:
                self._drop_media(up["fileId"])  # no attachment, no orphaned upload
                raise
        except Exception:
            self._drop_media(up["fileId"])
            raise
        new_id = join_id(cid, note["id"], up["fileId"])
        self.remember(record, new_id)
        return new_id

    def drop_unattached(self, sid: str) -> None:
        """Delete uploads named for ``sid`` (:func:`library_name`) - called only when no note
        attaches a file of that Source ID, so they are what a killed create left behind."""
        prefix = library_name("", sid)
        items = self.api.request("GET", "/medias/files", params={
            "altType": "location", "altId": self.ctx.location_id, "type": "file", "sortBy": "createdAt",
            "sortOrder": "desc", "query": prefix, "offset": "0", "limit": "20"}).get("files", [])
        for item in items:
            if str(item.get("name", "")).startswith(prefix):
                self._drop_media(item.get("id") or item.get("_id"))

    def _upload(self, path: str, name: str, ctype: str, sid: str | None) -> dict:
        """Upload the file under its library name (:func:`library_name`, which carries the Source
        ID); after a failure the server may have acted on, an upload of that name is the one whose
        answer was lost, and is taken instead of uploading the file a second time."""
        stored = library_name(name, sid)
        try:
            with open(path, "rb") as fh:
                return self.api.request("POST", "/medias/upload-file", files={"file": (stored, fh, ctype)},
                                        data={"name": stored})
        except RetriableError as exc:
            if isinstance(exc, RateLimitedError) or sid is None:
                raise
            hit = self._uploaded(stored)
            if hit is None:
                raise
            return hit

    def _uploaded(self, stored: str) -> dict | None:
        """The library's upload named ``stored``, as an upload's answer, or None."""
        items = self.api.request("GET", "/medias/files", params={
            "altType": "location", "altId": self.ctx.location_id, "type": "file", "sortBy": "createdAt",
            "sortOrder": "desc", "query": stored, "offset": "0", "limit": "20"}).get("files", [])
        hit = next((m for m in items if m.get("name") == stored and m.get("url")), None)
        return None if hit is None else {"fileId": hit.get("id") or hit.get("_id"), "url": hit["url"]}

    def update(self, record: Record) -> None:
        """Rename: the media item and its attachment note. Content cannot be replaced in place
        (the media API has no such call), so a changed ``path`` is left as is and logged."""
        cid, note_id, media_id = split_id(record.id or "", 3, "file")
        _fields_check(record, ("path", "name"), "file")
        if "path" in record.fields:
            log.warning("HighLevel file %s: content cannot be replaced in place; path ignored", record.id)
        current = self.get(record.id)
        if current is None:
            raise NotFoundError(f"file {record.id} does not exist")
        name = record.fields.get("name")
        if not name or name == current.fields.get("name"):
            return
        sid = record.custom.get(SOURCE_ID_FIELD, current.custom.get(SOURCE_ID_FIELD))
        self.api.request("POST", f"/medias/{media_id}",
                         json={"name": library_name(name, sid), "altType": "location", "altId": self.ctx.location_id})
        self.api.request("PUT", f"/contacts/{cid}/notes/{note_id}",
                         json={"body": with_source(f"Attached file: {name}\n{current.fields['url']}", sid)})

    def get(self, id: str) -> Record | None:
        cid, note_id, media_id = split_id(id, 3, "file")
        try:
            note = self.api.request("GET", f"/contacts/{cid}/notes/{note_id}")["note"]
        except NotFoundError:
            return None
        return self.record(note, cid, media_id)

    def delete(self, id: str) -> None:
        cid, note_id, media_id = split_id(id, 3, "file")
        self._drop_media(media_id)
        self.quiet_delete(f"/contacts/{cid}/notes/{note_id}")
        self.forget(id)

    def _drop_media(self, media_id: str) -> None:
        self.quiet_delete(f"/medias/{media_id}", params={"altType": "location", "altId": self.ctx.location_id})

    def record(self, note: dict, cid: str, media_id: str) -> Record | None:
        text, sid = split_source(note.get("body"))
        m = _ATTACHMENT.match(text or "")
        if m is None:
            return None
        return Record(object="file", fields={"name": m["name"], "url": m["url"]},
                      custom={SOURCE_ID_FIELD: sid} if sid else {}, links={"contactId": cid},
                      id=join_id(cid, note["id"], media_id))

    def under(self, cid: str) -> Iterator[Record]:
        """The files attached to one contact (its notes, then the media library for the ids)."""
        media = None
        for n in self.api.request("GET", f"/contacts/{cid}/notes").get("notes", []):
            m = _ATTACHMENT.match(split_source(n.get("body"))[0] or "")
            if m is None:
                continue
            media = self._media_ids_by_url() if media is None else media
            if m["url"] in media:
                yield self.record(n, cid, media[m["url"]])

    def recheck(self, source_id: str) -> str | None:
        return recheck_under(self, source_id)

    def _media_ids_by_url(self) -> dict[str, str]:
        """url -> media id for the whole library (``GET /medias/files``, offset/limit)."""
        out, offset, limit = {}, 0, self.ctx.page(100)
        while True:
            items = self.api.request("GET", "/medias/files", params={
                "altType": "location", "altId": self.ctx.location_id, "type": "file", "sortBy": "createdAt",
                "sortOrder": "asc", "offset": str(offset), "limit": str(limit)}).get("files", [])
            out.update({f["url"]: f.get("id") or f.get("_id") for f in items if f.get("url")})
            if len(items) < limit:
                return out
            offset += limit

    def iter(self) -> Iterator[Record]:
        media = None
        for cid, n in contact_notes(self, self.contacts):
            m = _ATTACHMENT.match(split_source(n.get("body"))[0] or "")
            if m is None:
                continue
            media = self._media_ids_by_url() if media is None else media
            if m["url"] not in media:  # the upload was deleted; the note alone is not a file any more
                log.warning("HighLevel contact %s note %s attaches %s, which is not in the media library",
                            cid, n["id"], m["url"])
                continue
            yield self.record(n, cid, media[m["url"]])
