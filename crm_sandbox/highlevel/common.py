"""Pieces every part of the HighLevel sandbox state shares: the vendor error, timestamps, ids.

Behaviours are cited to the research note (``shared/research/highlevel.md``, "§n") or the spec
file they come from.
"""

from __future__ import annotations

import hashlib
import re
import string
from datetime import datetime, timezone
from typing import Any

__all__ = ["ApiError", "now_iso", "ms_of", "parse_time", "stable_id", "snake", "ID_CHARS", "HEX_CHARS"]

ID_CHARS = string.ascii_letters + string.digits
HEX_CHARS = "0123456789abcdef"


class ApiError(Exception):
    """A vendor error response. ``message`` is a list for 422s (the vendor's shape, §1)."""

    def __init__(self, status: int, message: str | list[str], **extra: Any):
        self.status, self.message, self.extra = status, message, extra
        super().__init__(f"{status}: {message}")

    def body(self) -> dict:
        if self.status == 422:
            msg = self.message if isinstance(self.message, list) else [self.message]
            return {"statusCode": 422, "message": msg, "error": "Unprocessable Entity", **self.extra}
        names = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
                 413: "Payload Too Large", 429: "Too Many Requests"}
        body = {"statusCode": self.status, "message": self.message, **self.extra}
        if self.status in names:  # 400 is {statusCode, message} (common-schemas BadRequestDTO)
            body["error"] = names[self.status]
        return body


def now_iso() -> str:
    """ISO 8601 UTC with milliseconds, as HighLevel writes timestamps (§7)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any, name: str) -> datetime:
    """An ISO 8601 date-time (``Z`` or an offset) as an aware datetime, or a 422 naming ``name``."""
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, [f"{name} must be a valid ISO 8601 date string"]) from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def ms_of(iso: str) -> int:
    """Epoch milliseconds of an ISO timestamp (cursors and calendar queries use them, §7)."""
    return int(parse_time(iso, "time").timestamp() * 1000)


def stable_id(*parts: str, length: int = 20, alphabet: str = ID_CHARS) -> str:
    """An id derived from names, so seeded objects keep their ids across restarts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest() * 2
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
