"""One HighLevel API call: auth, the Version header, the shared rate limiter, typed errors.

Every request carries ``Authorization: Bearer <token>`` and the ``Version`` its endpoint needs
(``2021-04-15`` for calendars, ``2021-07-28`` for everything else; research highlevel.md §1)
and passes the location's shared :class:`~toolkit.ratelimit.RateLimiter` first (§2). Nothing
here retries: each outcome becomes a typed error and the engine retries by type.
"""

from __future__ import annotations

import email.utils
import time
from datetime import datetime, timezone
from typing import Any

import httpx

from ...errors import (AuthError, DestinationError, FatalError, NotFoundError, QuotaExhaustedError,
                       RateLimitedError, RetriableError)
from ...ratelimit import RateLimiter

__all__ = ["Api", "DEFAULT_BASE_URL", "API_VERSION", "CALENDAR_VERSION", "FileTooLargeError", "join_id", "split_id"]

DEFAULT_BASE_URL = "https://services.leadconnectorhq.com"
API_VERSION = "2021-07-28"
CALENDAR_VERSION = "2021-04-15"


class FileTooLargeError(FatalError):
    """A file is over the destination's upload limit; nothing was uploaded.

    The caller can keep the file where it is and store a link to it instead.

    Attributes:
        path: the local file.
        size: its size in bytes.
        limit: the largest size the destination accepts, in bytes.
    """

    def __init__(self, message: str, *, path: str | None = None, size: int | None = None,
                 limit: int | None = None, **kw):
        self.path, self.size, self.limit = path, size, limit
        super().__init__(message, **kw)


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
        try:
            resp = self.client.request(method, self.base_url + path, params=params, json=json, files=files,
                                       data=data, headers=headers)
        except httpx.TimeoutException:
            raise RetriableError(f"{where}: timed out") from None
        except httpx.TransportError as e:  # refused, reset, dropped mid-body
            raise RetriableError(f"{where}: connection failed ({type(e).__name__})") from None
        self.limiter.update(resp.headers)
        if resp.status_code < 400:
            try:
                return resp.json() if resp.content else {}
            except ValueError:
                raise RetriableError(f"{where}: response is not JSON", status=resp.status_code) from None
        raise self._error(where, resp)

    def _error(self, where: str, resp: httpx.Response) -> DestinationError:
        status = resp.status_code
        try:
            body: Any = resp.json()
        except ValueError:
            body = resp.text[:500]
        msg = body.get("message", body) if isinstance(body, dict) else body
        msg = "; ".join(map(str, msg)) if isinstance(msg, list) else str(msg)
        text = f"{where}: {msg}"
        if status == 429:
            if self.limiter.daily_exhausted():
                return QuotaExhaustedError(text, status=status, body=body, resume_at=_next_utc_midnight())
            retry = retry_after(resp.headers)
            self.limiter.penalize(retry)
            return RateLimitedError(text, retry_after=retry, status=status, body=body)
        if status >= 500:
            return RetriableError(text, status=status, body=body)
        if status in (401, 403):
            return AuthError(text, status=status, body=body)
        if status == 413:
            return FileTooLargeError(text, status=status, body=body)
        # The spec lists no 404 for these operations; some public clients report a 400 whose
        # message says "not found" for a missing record, so treat that as not found too.
        if status == 404 or (status == 400 and "not found" in msg.lower()):
            return NotFoundError(text, status=status, body=body)
        return FatalError(text, status=status, body=body)


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait after a 429: ``Retry-After`` (seconds or a date) when sent, else the burst
    window (``X-RateLimit-Interval-Milliseconds``); HighLevel documents neither (§2)."""
    raw = headers.get("Retry-After")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    interval = headers.get("X-RateLimit-Interval-Milliseconds")
    try:
        return float(interval) / 1000.0 if interval else None
    except ValueError:
        return None


def _next_utc_midnight() -> str:
    now = datetime.now(timezone.utc)
    nxt = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() + 86_400
    return datetime.fromtimestamp(nxt, timezone.utc).isoformat().replace("+00:00", "Z")
