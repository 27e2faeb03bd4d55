"""One Pipedrive company over HTTP: auth, pacing, typed errors and both pagination styles.

Facts from ``shared/research/pipedrive.md`` ("§n"). Requests carry ``x-api-token`` (or OAuth
``Authorization: Bearer``, §1) and go to ``/api/v2`` or ``/api/v1`` on the company's host (§1, §3).
Pacing follows §2: per token, a rolling 2-second burst window (the Search API has its own 10 per
2 s), and a per-company daily token budget read from ``x-daily-ratelimit-token-remaining``. The
client never retries; it maps each outcome to a typed error and the engine retries by type.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterator
from urllib.parse import urlsplit

import httpx

from ...errors import DestinationError, RateLimitedError
from ..ratelimit import RateLimiter, limiter_for
from .._http import decode, error_for, retry_after, send

__all__ = ["Api", "Pacer", "BURST_HEADERS", "SEARCH_BURST", "WINDOW_SECONDS"]

WINDOW_SECONDS = 2.0  # §2.4: "rolling 2-second window"
SEARCH_BURST = 10     # §2.4: Search API, all plans
_UNSENT = "x-pipedrive-not-sent"
#: response headers -> what the burst window learns from them (§2.5)
BURST_HEADERS = {"max": "x-ratelimit-limit", "remaining": "x-ratelimit-remaining", "interval_ms": _UNSENT,
                 "daily_limit": "x-daily-ratelimit-token-limit",
                 "daily_remaining": "x-daily-ratelimit-token-remaining"}
_SEARCH_HEADERS = {**BURST_HEADERS, "daily_limit": _UNSENT, "daily_remaining": _UNSENT}
_DAILY = ("x-daily-ratelimit-token-limit", "x-daily-ratelimit-token-remaining")


class Pacer:
    """The burst window of one token plus the Search API's, used like one limiter.

    Args:
        account: the key the shared limiters are registered under (host and a token digest).
        window: burst window in seconds (2; a sped-up sandbox says less).
        burst: requests per window until the headers say otherwise (Lite's 20, the lowest, §2.4).
        daily_reserve: tokens kept back for reads and a rollback (QuotaExhaustedError below it).
        general, search: limiters to use instead of the shared ones (tests).
    """

    def __init__(self, account: str, *, window: float = WINDOW_SECONDS, burst: int = 20, daily_reserve: int = 200,
                 general: RateLimiter | None = None, search: RateLimiter | None = None):
        self.general = general or limiter_for("pipedrive", account, max_requests=burst, interval=window,
                                              daily_limit=None, daily_reserve=daily_reserve, headers=BURST_HEADERS,
                                              fixed_windows=False)  # a rolling 2 s window (§2.4)
        self.search = search or limiter_for("pipedrive", account + "/search", max_requests=SEARCH_BURST,
                                            interval=window, daily_limit=None, headers=_SEARCH_HEADERS,
                                            fixed_windows=False)

    def acquire(self, *, search: bool = False) -> float:
        """Wait for room (a search waits for both windows: it counts in both, §2.4)."""
        return (self.search.acquire() if search else 0.0) + self.general.acquire()

    def update(self, headers: httpx.Headers, *, search: bool = False) -> None:
        if search:
            # a search response reports the Search API's window; only its daily figures are the company's
            self.search.update(headers)
            self.general.update({k: headers[k] for k in _DAILY if k in headers})
        else:
            self.general.update(headers)

    def penalize(self, retry_after: float | None, *, search: bool = False) -> None:
        (self.search if search else self.general).penalize(retry_after)

    def daily_exhausted(self) -> bool:
        return self.general.daily_exhausted()

    def seen(self) -> dict:
        """The company's daily token budget as last reported (see :meth:`RateLimiter.seen`)."""
        return self.general.seen()

    @property
    def safety(self) -> float:
        return self.general.safety

    @safety.setter
    def safety(self, value: float) -> None:  # the engine's `pace` option sets it
        self.general.safety = self.search.safety = value

    @property
    def wait_reason(self) -> str | None:
        return self.general.wait_reason or self.search.wait_reason


class Api:
    """HTTP to one company.

    Args:
        base_url: ``https://<company>.pipedrive.com`` (or a sandbox URL).
        token: the API token, or an OAuth access token when ``oauth`` is true.
        client: the httpx client to use.
        pacer: the pacing to apply (default the shared one for this host and token).
        window: burst window in seconds, for the default pacer.
    """

    def __init__(self, base_url: str, token: str, client: httpx.Client, *, oauth: bool = False,
                 pacer: Pacer | None = None, window: float = WINDOW_SECONDS):
        self.base_url = base_url.rstrip("/")
        self._token, self.oauth, self.client = token, oauth, client
        digest = hashlib.sha256(token.encode()).hexdigest()[:12]  # per token (§2.4), never the token itself
        self.pacer = pacer or Pacer(f"{urlsplit(self.base_url).netloc}/{digest}", window=window)

    def _headers(self) -> dict[str, str]:
        auth = {"Authorization": f"Bearer {self._token}"} if self.oauth else {"x-api-token": self._token}
        return {**auth, "Accept": "application/json"}

    def call(self, method: str, version: str, path: str, *, params: dict | None = None, json: Any = None,
             data: dict | None = None, files: dict | None = None, raw: bool = False) -> Any:
        """One request; returns the decoded envelope (or the bytes when ``raw``).

        Raises:
            DestinationError: a typed subclass for every non-success outcome.
        """
        search = path.endswith("/search")
        self.pacer.acquire(search=search)
        where = f"{method} /api/{version}{path}"
        resp = send(self.client, method, f"{self.base_url}/api/{version}{path}", where=where, params=params,
                    json=json, data=data, files=files, headers=self._headers())
        self.pacer.update(resp.headers, search=search)
        if resp.status_code < 400:
            return resp.content if raw else decode(resp, where)
        raise self._error(where, resp, search)

    def _error(self, where: str, resp: httpx.Response, search: bool) -> DestinationError:
        def special(status: int, body: Any, text: str) -> DestinationError | None:
            if status == 403 and not isinstance(body, dict):
                # an HTML block page after ignored 429s (§2.5, [3p]): back off well past the window
                wait = 30.0
                self.pacer.penalize(wait)
                return RateLimitedError(f"{where}: blocked for ignoring rate limits (HTTP 403 page)",
                                        retry_after=wait, status=status, body=body)
            return None

        return error_for(where, resp, message=_message, special=special,
                         penalize=lambda wait: self.pacer.penalize(wait, search=search),
                         wait=lambda headers: retry_after(headers, ("Retry-After", "x-ratelimit-reset")),
                         quota_spent=lambda r: (self.pacer.daily_exhausted()
                                                or r.headers.get("x-daily-ratelimit-token-remaining") == "0"))

    # --- pagination (§7) -----------------------------------------------------------------------
    def pages_v2(self, path: str, params: dict | None = None, *, limit: int = 500) -> Iterator[dict]:
        """Every item of a v2 list, following ``additional_data.next_cursor`` until null."""
        cursor = None
        while True:
            q = {**(params or {}), "limit": limit}
            if cursor:
                q["cursor"] = cursor
            body = self.call("GET", "v2", path, params=q)
            data = body.get("data") or []
            yield from (data.get("items", []) if isinstance(data, dict) else data)
            cursor = (body.get("additional_data") or {}).get("next_cursor")
            if not cursor:
                return

    def pages_v1(self, path: str, params: dict | None = None, *, limit: int = 500) -> Iterator[dict]:
        """Every item of a v1 list, following start/limit (``pagination.next_start``; getLeads
        reports ``more_items_in_collection`` flat)."""
        start = 0
        while True:
            body = self.call("GET", "v1", path, params={**(params or {}), "start": start, "limit": limit})
            data = body.get("data") or []
            yield from data
            extra = body.get("additional_data") or {}
            pag = extra.get("pagination", extra)
            if not pag.get("more_items_in_collection") or not data:
                return
            start = int(pag.get("next_start", start + len(data)))


def _message(body: Any) -> str:
    """Pipedrive error bodies: ``{"success": false, "error", "error_info", ...}`` (§7 "Envelope")."""
    return str(body.get("error") or body.get("error_info") or body) if isinstance(body, dict) else str(body)
