"""One mapping from an HTTP outcome to the toolkit's typed errors, shared by every adapter.

The engine retries by error type (:mod:`toolkit.errors`), never by status or message text, so
every adapter must map alike:

===============================  ==========================================================
no answer: timeout               :class:`RetriableError` "timed out"
no answer: refused, reset, cut   :class:`RetriableError` "connection failed (<httpx error>)"
2xx/3xx that is not JSON         :class:`RetriableError` (a proxy page, a truncated body)
429                              :class:`RateLimitedError` with the wait the vendor asked for
                                 (``Retry-After``, seconds or an HTTP date, or the vendor's own
                                 reset header); :class:`QuotaExhaustedError` when the adapter
                                 says the daily quota is spent
5xx                              :class:`RetriableError`
401, 403                         :class:`AuthError`
404                              :class:`NotFoundError`
any other 4xx                    :class:`FatalError` with the vendor's message
===============================  ==========================================================

An adapter supplies how to read its vendor's error body (``message``) and, where its vendor
answers something particular (HighLevel's 413, Pipedrive's HTML 403 block page), a ``special``
hook consulted first. Every error message starts with ``"<METHOD> <path>: "`` and never carries
the token (it travels only in request headers, which no message includes).
"""

from __future__ import annotations

import email.utils
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import httpx

from ..errors import (AuthError, DestinationError, FatalError, NotFoundError, QuotaExhaustedError, RateLimitedError,
                      RetriableError)

__all__ = ["send", "decode", "error_for", "body_of", "retry_after", "next_utc_midnight"]


def send(client: httpx.Client, method: str, url: str, *, where: str, **kw: Any) -> httpx.Response:
    """``client.request(method, url, **kw)``; no answer at all becomes a :class:`RetriableError`."""
    try:
        return client.request(method, url, **kw)
    except httpx.TimeoutException:
        raise RetriableError(f"{where}: timed out") from None
    except httpx.TransportError as e:  # refused, reset, dropped mid-body
        raise RetriableError(f"{where}: connection failed ({type(e).__name__})") from None


def decode(resp: httpx.Response, where: str) -> Any:
    """A success's JSON body (``{}`` when empty); a body that is not JSON is retriable."""
    try:
        return resp.json() if resp.content else {}
    except ValueError:
        raise RetriableError(f"{where}: response is not JSON", status=resp.status_code) from None


def body_of(resp: httpx.Response) -> Any:
    """The decoded error body, or the first 500 characters of its text."""
    try:
        return resp.json()
    except ValueError:
        return resp.text[:500]


def error_for(where: str, resp: httpx.Response, *, message: Callable[[Any], str],
              penalize: Callable[[float | None], None] | None = None,
              wait: Callable[[httpx.Headers], float | None] | None = None,
              quota_spent: Callable[[httpx.Response], bool] | None = None,
              special: Callable[[int, Any, str], DestinationError | None] | None = None) -> DestinationError:
    """The typed error for a response with status >= 400 (see the module's table).

    Args:
        where: ``"<METHOD> <path>"``, the message's prefix.
        resp: the response.
        message: the vendor's message from its decoded error body (or text).
        penalize: told the wait after a 429, so the adapter's limiter holds off.
        wait: seconds to wait after a 429 from the headers (default :func:`retry_after`).
        quota_spent: whether a 429 means the daily quota is spent (then QuotaExhaustedError,
            to resume after the next UTC midnight).
        special: a vendor's own reading of a status, consulted first: an error, or None.
    """
    status = resp.status_code
    body = body_of(resp)
    text = f"{where}: {message(body)}"
    if special is not None:
        err = special(status, body, text)
        if err is not None:
            return err
    if status == 429:
        if quota_spent is not None and quota_spent(resp):
            return QuotaExhaustedError(text, status=status, body=body, resume_at=next_utc_midnight())
        seconds = (wait or retry_after)(resp.headers)
        if penalize is not None:
            penalize(seconds)
        return RateLimitedError(text, retry_after=seconds, status=status, body=body)
    if status >= 500:
        return RetriableError(text, status=status, body=body)
    if status in (401, 403):
        return AuthError(text, status=status, body=body)
    if status == 404:
        return NotFoundError(text, status=status, body=body)
    return FatalError(text, status=status, body=body)


def retry_after(headers: httpx.Headers, names: tuple[str, ...] = ("Retry-After",), *,
                interval_ms: str | None = None) -> float | None:
    """Seconds to wait after a 429: the first of ``names`` sent, as seconds or an HTTP date;
    else the ``interval_ms`` header (a window length in milliseconds); else None."""
    for name in names:
        raw = headers.get(name)
        if not raw:
            continue
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                continue
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    if interval_ms:
        raw = headers.get(interval_ms)
        try:
            return float(raw) / 1000.0 if raw else None
        except ValueError:
            return None
    return None


def next_utc_midnight() -> str:
    """When a daily quota is next expected back: the coming midnight UTC, ISO 8601 with ``Z``.
    (Vendors reset at midnight in a time zone they do not report; UTC is the guess.)"""
    now = datetime.now(timezone.utc)
    nxt = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return nxt.isoformat().replace("+00:00", "Z")
