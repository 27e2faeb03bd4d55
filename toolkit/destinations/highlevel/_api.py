"""One HighLevel API call: auth, the Version header, the shared rate limiter, typed errors.

Every request carries ``Authorization: Bearer <token>`` and the ``Version`` its endpoint needs
(``2021-04-15`` for calendars, ``2021-07-28`` for everything else; research highlevel.md §1)
and passes the location's shared :class:`~toolkit.destinations.ratelimit.RateLimiter` first (§2). Nothing
here retries: each outcome becomes a typed error and the engine retries by type.
"""

from __future__ import annotations

from typing import Any

import httpx

from ...errors import DestinationError, FatalError, FileTooLargeError, NotFoundError
from .._http import decode, error_for, send
from .._http import retry_after as _retry_after
from ..ratelimit import RateLimiter
from .knowledge import DEFAULT_BASE_URL

__all__ = ["Api", "DEFAULT_BASE_URL", "API_VERSION", "CALENDAR_VERSION", "FileTooLargeError", "join_id", "split_id"]

API_VERSION = "2021-07-28"
CALENDAR_VERSION = "2021-04-15"


def join_id(*parts: str) -> str:
    """A composite record id. Tasks and notes are addressed only under their contact
    (``/contacts/{contactId}/tasks/{taskId}``), so their ids carry the contact's: ``contact/task``.
    HighLevel ids are alphanumeric, so ``/`` cannot occur inside a part."""
    return "/".join(parts)


def split_id(composite: str, n: int, object: str) -> list[str]:
    """The ``n`` parts of a composite id, or a FatalError naming what was expected."""
    parts = composite.split("/")
    if len(parts) != n or not all(parts):
        raise FatalError(f"{object} id {composite!r} is not a HighLevel {object} id "
                         f"({n} parts joined by '/', e.g. contactId/{object}Id)")
    return parts


class Api:
    """Calls to one location.

    Args:
        base_url: API root.
        token: the bearer token (kept private; never in messages or repr).
        client: the httpx client to send with.
        limiter: the location's rate limiter.
    """

    def __init__(self, base_url: str, token: str, client: httpx.Client, limiter: RateLimiter):
        self.base_url, self._token, self.client, self.limiter = base_url.rstrip("/"), token, client, limiter

    def __repr__(self) -> str:
        return f"<HighLevel API {self.base_url}>"

    def request(self, method: str, path: str, *, params: dict | list | None = None, json: Any = None,
                files: dict | None = None, data: dict | None = None) -> Any:
        """One call; returns the decoded JSON body (``{}`` when empty) or raises a typed error."""
        self.limiter.acquire()
        where = f"{method} {path}"
        version = CALENDAR_VERSION if path.startswith("/calendars") else API_VERSION
        headers = {"Authorization": f"Bearer {self._token}", "Version": version, "Accept": "application/json"}
        resp = send(self.client, method, self.base_url + path, where=where, params=params, json=json, files=files,
                    data=data, headers=headers)
        self.limiter.update(resp.headers)
        if resp.status_code < 400:
            return decode(resp, where)
        raise error_for(where, resp, message=_message, penalize=self.limiter.penalize, wait=retry_after,
                        quota_spent=lambda _: self.limiter.daily_exhausted(), special=_special)


def _message(body: Any) -> str:
    """HighLevel error bodies: ``{statusCode, message}``, the 422's message a list (research §1)."""
    msg = body.get("message", body) if isinstance(body, dict) else body
    return "; ".join(map(str, msg)) if isinstance(msg, list) else str(msg)


def _special(status: int, body: Any, text: str) -> DestinationError | None:
    if status == 413:
        return FileTooLargeError(text, status=status, body=body)
    # The spec lists no 404 for these operations; some public clients report a 400 whose
    # message says "not found" for a missing record, so treat that as not found too.
    if status == 400 and "not found" in _message(body).lower():
        return NotFoundError(text, status=status, body=body)
    return None


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait after a 429: ``Retry-After`` (seconds or a date) when sent, else the burst
    window (``X-RateLimit-Interval-Milliseconds``); HighLevel documents neither (§2)."""
    return _retry_after(headers, interval_ms="X-RateLimit-Interval-Milliseconds")
