"""One GET against Exact Online, inside every limit: pacing, token, error budget, retries.

Order per call: the error budget for the endpoint (we never call an endpoint that has already
erred ``budget`` times this hour), the pacer (minute, day), a valid access token, the request with
``Accept: application/json`` (§1), then the answer:

* 2xx: the JSON body.
* 429: the pacer learns the headers and waits out the minute (a spent day pauses the run).
* 5xx, timeouts, dropped connections: retried with backoff; they are not in Exact's error count.
* 401: counted; if our token is at least 570 s old it is refreshed once and the call repeated
  (a 401 on a younger token is a real authorisation problem, and refreshing early is refused).
* 403 and other 4xx: counted, never retried; a 404 on an optional endpoint is reported to the
  caller as "absent", everything else stops the run with the endpoint and Exact's own message.
"""

from __future__ import annotations

import time
from typing import Callable

import httpx

from ...errors import SourceError
from ._pacing import ErrorBudget, KeyBlocked, Pacer
from ._tokens import TokenKeeper

__all__ = ["ExactApi", "EndpointAbsent"]


class EndpointAbsent(SourceError):
    """The division answered 404 for an endpoint declared optional."""


class ExactApi:
    """Args:
        base_url: the Exact host or a sandbox.
        client: the injected httpx client.
        tokens: the :class:`TokenKeeper`.
        pacer: the :class:`Pacer`.
        budget: the :class:`ErrorBudget`.
        retries: attempts for a transient failure before giving up.
        sleep: how to wait between retries.
    """

    def __init__(self, base_url: str, client: httpx.Client, tokens: TokenKeeper, pacer: Pacer,
                 budget: ErrorBudget, *, retries: int = 5, sleep: Callable[[float], None] = time.sleep):
        self.base_url = base_url.rstrip("/")
        self.client, self.tokens, self.pacer, self.budget = client, tokens, pacer, budget
        self.retries, self.sleep = retries, sleep

    def me(self) -> dict:
        """``GET /api/v1/current/Me``: the user and their current division (not counted, §1)."""
        resp = self._send(self.base_url + "/api/v1/current/Me", counted=False)
        if resp.status_code != 200:
            raise SourceError(f"Exact Online current/Me answered HTTP {resp.status_code}: {_message(resp)}")
        d = resp.json().get("d", {})
        results = d.get("results", [d]) if isinstance(d, dict) else d
        if not results or "CurrentDivision" not in results[0]:
            raise SourceError("Exact Online current/Me returned no CurrentDivision")
        return results[0]

    def get(self, url: str, *, endpoint: str, optional: bool = False) -> dict:
        """GET ``url`` (a first page or a ``__next`` link, used verbatim) and return its JSON."""
        return self._call(url, endpoint=endpoint, optional=optional).json()

    def download(self, url: str, *, endpoint: str = "docs/SysAttachment.aspx") -> bytes:
        """An attachment's bytes (each download is a counted call, §5)."""
        return self._call(url, endpoint=endpoint, optional=False).content

    def _call(self, url: str, *, endpoint: str, optional: bool) -> httpx.Response:
        refreshed = False
        attempt = 0
        while True:
            self.budget.check(endpoint)
            self.pacer.before_call()
            resp = self._send(url, counted=True)
            if resp is None:  # transient failure already waited for
                attempt += 1
                if attempt >= self.retries:
                    raise SourceError(f"Exact Online {endpoint}: no answer after {self.retries} attempts; everything "
                                      "read so far is kept, run again to resume")
                continue
            status = resp.status_code
            if status < 400:
                self.pacer.after_call(resp.headers)
                return resp
            if status == 429:
                self.pacer.rate_limited(resp.headers)
                continue
            if status >= 500:
                self.pacer.after_call(resp.headers)
                attempt += 1
                if attempt >= self.retries:
                    raise SourceError(f"Exact Online {endpoint}: HTTP {status} {attempt} times ({_message(resp)}); "
                                      "everything read so far is kept, run again to resume")
                self.sleep(min(30.0, 0.5 * 2 ** attempt))
                continue
            self.pacer.after_call(resp.headers)
            msg = _message(resp)
            self.budget.record(endpoint, status, msg)
            if status == 401 and not refreshed and self.tokens.may_refresh():
                refreshed = True
                continue  # access_token() refreshes: the stored token is old enough
            if status == 404 and optional:
                raise EndpointAbsent(f"Exact Online has no {endpoint} in this division")
            if status == 403 and "blocked" in msg.lower():
                raise KeyBlocked(f"Exact Online has blocked this API key: {msg}. Nothing was lost; run again after "
                                 "the block (about an hour)")
            raise SourceError(f"Exact Online {endpoint}: HTTP {status}: {msg} (not retried: 4xx answers count "
                              "toward the error limit that blocks the key)")

    def _send(self, url: str, *, counted: bool) -> httpx.Response | None:
        token = self.tokens.access_token()
        try:
            return self.client.get(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        except (httpx.TimeoutException, httpx.TransportError):
            if not counted:
                raise SourceError("Exact Online is unreachable (connection failed); run again") from None
            self.sleep(1.0)
            return None


def _message(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300]
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        msg = err.get("message")
        return str(msg.get("value") if isinstance(msg, dict) else msg)
    if isinstance(body, dict) and "error_description" in body:
        return str(body["error_description"])
    return str(body)[:300]
