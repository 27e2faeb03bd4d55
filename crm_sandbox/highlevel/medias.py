"""The media library in the HighLevel sandbox (apps/medias.json; research §4 "Files").

``POST /medias/upload-file`` takes multipart ``file`` (at most 25 MB) or ``hosted=true`` with a
``fileUrl``, and answers ``{fileId, url}``. The library belongs to the location the token is for
(there is no locationId parameter); list, rename and delete name it as ``altType=location`` and
``altId=<locationId>``. The sandbox serves each file's bytes back at its ``url``.
"""

from __future__ import annotations

from .common import ApiError, now_iso

__all__ = ["MediaStore", "MAX_UPLOAD_BYTES"]

#: "If adding a file, maximum allowed is 25 MB" (apps/medias.json, upload-media-content)
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
_SORTS = {"createdAt", "updatedAt", "name"}


class MediaStore:
    """Mixin of :class:`~.state.State`: uploaded files (metadata here, bytes in ``media_bytes``)."""

    media: dict[str, dict]
    media_bytes: dict[str, bytes]

    def upload_media(self, form: dict[str, str], file: tuple[str, str, bytes] | None, base_url: str) -> dict:
        """Store an upload; ``file`` is (filename, content type, bytes) when one was sent."""
        with self.lock:
            hosted = str(form.get("hosted", "")).lower() == "true"
            if hosted:
                if not form.get("fileUrl"):
                    raise ApiError(422, ["fileUrl should not be empty when hosted is true"])
                name, ctype, data, url = form.get("name") or form["fileUrl"].rsplit("/", 1)[-1], "", b"", form["fileUrl"]
            else:
                if file is None:
                    raise ApiError(422, ["file should not be empty"])
                filename, ctype, data = file
                if len(data) > MAX_UPLOAD_BYTES:
                    raise ApiError(413, f"File too large: {len(data)} bytes; the maximum allowed is 25 MB")
                name, url = form.get("name") or filename, None
            if form.get("parentId") and form["parentId"] not in self.media:
                raise ApiError(400, f"Folder {form['parentId']} not found")
            mid = self.new_hex_id()
            now = now_iso()
            url = url or f"{base_url}/__sandbox/media/{mid}"
            self.media[mid] = {"id": mid, "altId": self.location_id, "altType": "location", "name": name,
                               "parentId": form.get("parentId") or "", "url": url, "path": f"location/{self.location_id}/{name}",
                               "type": "file", "contentType": ctype, "size": len(data), "createdAt": now, "updatedAt": now}
            if not hosted:
                self.media_bytes[mid] = data
            return {"fileId": mid, "url": url}

    def _check_alt(self, alt_type: str | None, alt_id: str | None) -> None:
        if alt_type != "location":
            raise ApiError(422, ["altType must be one of the following values: location"])
        self.check_location(alt_id)

    def list_media(self, query: dict[str, str]) -> dict:
        with self.lock:
            self._check_alt(query.get("altType"), query.get("altId"))
            if query.get("sortBy") not in _SORTS:
                raise ApiError(422, [f"sortBy must be one of the following values: {', '.join(sorted(_SORTS))}"])
            if query.get("sortOrder") not in ("asc", "desc"):
                raise ApiError(422, ["sortOrder must be one of the following values: asc, desc"])
            hits = [m for m in self.media.values() if m["type"] == query.get("type")]
            if query.get("parentId"):
                hits = [m for m in hits if m["parentId"] == query["parentId"]]
            q = (query.get("query") or "").lower()
            if q:
                hits = [m for m in hits if q in m["name"].lower()]
            hits.sort(key=lambda m: (m[query["sortBy"]], m["id"]), reverse=query["sortOrder"] == "desc")
            try:
                offset, limit = int(query.get("offset") or 0), int(query.get("limit") or 10)
            except ValueError:
                raise ApiError(422, ["offset and limit must be numbers"]) from None
            return {"files": [dict(m) for m in hits[offset: offset + limit]]}

    def _media(self, mid: str) -> dict:
        m = self.media.get(mid)
        if m is None:
            raise ApiError(404, "File not found")
        return m

    def rename_media(self, mid: str, body: dict) -> dict:
        with self.lock:
            self._check_alt(body.get("altType"), body.get("altId"))
            m = self._media(mid)
            m["name"], m["updatedAt"] = body["name"], now_iso()
            return {"updated": True}

    def delete_media(self, mid: str, alt_type: str | None, alt_id: str | None) -> None:
        with self.lock:
            self._check_alt(alt_type, alt_id)
            self._media(mid)
            del self.media[mid]
            self.media_bytes.pop(mid, None)

    def media_content(self, mid: str) -> tuple[dict, bytes]:
        with self.lock:
            m = self._media(mid)
            return dict(m), self.media_bytes.get(mid, b"")
