"""Machinery shared by every vendor sandbox.

A sandbox is a Starlette app served by uvicorn on the loopback interface, either in a daemon
thread (tests, the demo) or in the foreground (``crm-migrate sandbox <vendor>``). Around the
vendor's own routes it provides, vendor-neutrally:

* :class:`VirtualClock` - wall time sped up by ``time_scale`` so rate windows can be tested fast;
* :class:`RateWindow` - a fixed burst window plus a daily budget, per account;
* :class:`FaultPlan` - seeded, on-demand faults (5xx, latency, dropped connections, extra 429s);
* :class:`RequestLog` - one JSON line per request, with credentials redacted;
* :class:`SandboxMiddleware` - applies the faults and writes the log;
* :func:`run_in_thread` / :func:`run_foreground` and :class:`SandboxHandle`.

The vendor module decides status codes, bodies and header names; nothing here knows HighLevel.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import math
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

import uvicorn

__all__ = [
    "VirtualClock",
    "RateWindow",
    "RateDecision",
    "FaultPlan",
    "RequestLog",
    "SandboxMiddleware",
    "SandboxHandle",
    "run_in_thread",
    "run_foreground",
    "redact_headers",
    "STATE_PREFIX",
]

#: Paths under this prefix (state dump, reset) skip auth, rate limits, faults and the log.
STATE_PREFIX = "/__sandbox/"
#: the one sandbox route open without the token: uploaded files, as a CRM's file links are
PUBLIC_PREFIX = STATE_PREFIX + "media/"

_SECRET_HEADERS = {"authorization", "cookie", "x-api-key", "api-key", "token", "x-api-token"}
_SECRET_FORM_FIELDS = {"client_secret", "code", "refresh_token", "access_token", "password"}


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Copy of ``headers`` with credentials replaced, keeping the scheme word for debugging."""
    out = {}
    for k, v in headers.items():
        if k.lower() in _SECRET_HEADERS:
            scheme = v.split(" ", 1)[0] if " " in v else ""
            out[k] = f"{scheme} ***".strip()
        else:
            out[k] = v
    return out


class VirtualClock:
    """Seconds since start, multiplied by ``time_scale`` (2.0 = windows pass twice as fast).

    Args:
        time_scale: speed-up factor; 1.0 is real time.
        clock: the real monotonic clock (injectable for tests).
    """

    def __init__(self, time_scale: float = 1.0, clock: Callable[[], float] = time.monotonic):
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = time_scale
        self._clock = clock
        self._t0 = clock()
        self._base = 0.0  # virtual seconds that passed before the last rescale()
        self._offset = 0.0  # virtual seconds jumped by advance()

    def now(self) -> float:
        return (self._clock() - self._t0) * self.time_scale + self._base + self._offset

    def rescale(self, time_scale: float) -> None:
        """Run at ``time_scale`` from now on (a benchmark loads fast, then reads at the vendor's
        own pace); the virtual time reached so far is kept, so no window jumps."""
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        now = self._clock()
        self._base += (now - self._t0) * self.time_scale
        self._t0, self.time_scale = now, time_scale

    def to_real(self, virtual_seconds: float) -> float:
        """A virtual duration expressed in real seconds (what a client must actually wait)."""
        return virtual_seconds / self.time_scale

    def advance(self, virtual_seconds: float) -> None:
        """Jump ahead (a test reaching tomorrow, or the end of a block, without waiting)."""
        self._offset += virtual_seconds

    def epoch(self) -> float:
        """Epoch seconds as the sandbox's world sees them: real time plus any jump, in real seconds,
        so reset times stay consistent for a client whose clock jumped the same way."""
        return time.time() + self.to_real(self._offset)


@dataclass
class RateDecision:
    """The outcome of one request against a :class:`RateWindow` (all durations virtual)."""

    allowed: bool
    burst_max: int
    burst_remaining: int
    daily_limit: int
    daily_remaining: int
    retry_after: float  # virtual seconds until the refusing window rolls over (0 when allowed)
    reason: str = ""  # "burst" or "daily" when refused
    burst_resets_in: float = 0.0  # virtual seconds until the burst window rolls over
    daily_resets_in: float = 0.0  # virtual seconds until the daily budget rolls over


class RateWindow:
    """A fixed burst window (N requests per W seconds) and a daily budget.

    Fixed rather than sliding windows: HighLevel reports a per-window ``Remaining`` count and no
    reset time, which is what a fixed window produces; a client that paces with a sliding log
    (see :mod:`toolkit.destinations.ratelimit`) stays inside either kind.

    Args:
        burst: requests allowed per window.
        window: window length in (virtual) seconds.
        daily: requests allowed per (virtual) day.
        clock: the virtual clock.
        enforce_burst: the burst actually enforced, when a fault makes it stricter than the
            advertised ``burst`` (None = the advertised one).
    """

    DAY = 86_400.0

    def __init__(self, burst: int, window: float, daily: int, clock: VirtualClock,
                 enforce_burst: int | None = None):
        self.burst, self.window, self.daily, self.clock = burst, window, daily, clock
        self.enforce_burst = enforce_burst if enforce_burst is not None else burst
        self._lock = threading.Lock()
        self._win_start = -math.inf
        self._win_count = 0
        self._day_start = -math.inf
        self._day_count = 0

    def hit(self) -> RateDecision:
        """Count one request (refused requests count against nothing) and decide on it."""
        with self._lock:
            now = self.clock.now()
            if now - self._win_start >= self.window:
                self._win_start, self._win_count = now, 0
            if now - self._day_start >= self.DAY:
                self._day_start, self._day_count = now, 0
            if self._day_count >= self.daily:
                return self._decision(False, now, "daily")
            if self._win_count >= min(self.burst, self.enforce_burst):
                return self._decision(False, now, "burst")
            self._win_count += 1
            self._day_count += 1
            return self._decision(True, now, "")

    def _decision(self, allowed: bool, now: float, reason: str) -> RateDecision:
        if reason == "daily":
            retry = self._day_start + self.DAY - now
        elif reason == "burst":
            retry = self._win_start + self.window - now
        else:
            retry = 0.0
        return RateDecision(allowed, self.burst, max(0, self.burst - self._win_count),
                            self.daily, max(0, self.daily - self._day_count), max(0.0, retry), reason,
                            burst_resets_in=max(0.0, self._win_start + self.window - now),
                            daily_resets_in=max(0.0, self._day_start + self.DAY - now))

    def new_day(self) -> None:
        """Start a fresh daily budget now (a test jumping to tomorrow without waiting a day)."""
        with self._lock:
            self._day_start, self._day_count = -math.inf, 0


#: methods whose answer the ``lost`` fault may drop after the server acted
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FAULT_RE = re.compile(r"^\s*(5xx|latency|reset|lost|429)\s*=\s*([^,]+?)\s*$")


@dataclass
class FaultPlan:
    """Faults injected on demand, parsed from ``"5xx=0.05,latency=50ms,reset=0.01,429=burst"``.

    Keys: ``5xx`` (probability of a 503), ``latency`` (added delay: ``50ms``, ``0.2s`` or a
    range ``10-80ms``), ``reset`` (probability that the connection drops mid-response, before
    the server acts), ``lost`` (probability that a write the server carries out - any route,
    POST, PUT, PATCH or DELETE answered 2xx, searches excepted - is applied and then its
    connection drops before the response arrives: the client sees a reset although the record
    exists, the relation or field is made or the delete is done, the case look-before-retry
    exists for; a lost read is a plain ``reset``), ``429``
    (a probability of a spurious 429, or ``burst``: enforce half the advertised burst while the
    headers keep advertising the full one - the "429 below the documented burst" seen in the
    wild, research note highlevel.md section 2). All draws come from one RNG seeded with
    ``seed``, so a run with the same requests replays the same faults.
    """

    p5xx: float = 0.0
    latency: tuple[float, float] = (0.0, 0.0)
    p_reset: float = 0.0
    p_lost: float = 0.0
    p429: float = 0.0
    burst429: bool = False
    seed: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    @classmethod
    def parse(cls, spec: str | None, seed: int = 0) -> "FaultPlan":
        """Parse a fault spec string; None or "" means no faults.

        Raises:
            ValueError: an unknown key or unparsable value.
        """
        plan = cls(seed=seed, _rng=random.Random(seed))
        for part in (spec or "").split(","):
            if not part.strip():
                continue
            m = _FAULT_RE.match(part)
            if not m:
                raise ValueError(f"bad fault {part!r}: expected 5xx=P, latency=50ms, reset=P, lost=P or 429=P|burst")
            key, val = m.groups()
            if key == "latency":
                plan.latency = _parse_latency(val)
            elif key == "429" and val == "burst":
                plan.burst429 = True
            else:
                p = float(val)
                if not 0.0 <= p <= 1.0:
                    raise ValueError(f"fault probability out of range in {part!r}")
                setattr(plan, {"5xx": "p5xx", "reset": "p_reset", "lost": "p_lost", "429": "p429"}[key], p)
        return plan

    def draw(self, p: float) -> bool:
        """True with probability ``p`` (no RNG draw when p is 0, so unrelated faults don't shift)."""
        return p > 0 and self._rng.random() < p

    def delay(self) -> float:
        lo, hi = self.latency
        return lo if hi <= lo else self._rng.uniform(lo, hi)


def _parse_latency(val: str) -> tuple[float, float]:
    def one(s: str, unit: str) -> float:
        return float(s) / 1000.0 if unit == "ms" else float(s)

    m = re.fullmatch(r"([\d.]+)(?:-([\d.]+))?\s*(ms|s)?", val.strip())
    if not m:
        raise ValueError(f"bad latency {val!r}: expected e.g. 50ms, 0.2s or 10-80ms")
    lo, hi, unit = m.group(1), m.group(2), m.group(3) or "ms"
    return (one(lo, unit), one(hi or lo, unit))


class RequestLog:
    """Appends one JSON line per request to ``path`` (thread-safe); credentials are redacted."""

    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        open(path, "a", encoding="utf-8").close()  # fail early on an unwritable path

    def write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, default=str, ensure_ascii=False)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class SandboxMiddleware:
    """ASGI middleware: request log and transport-level faults (5xx, latency, dropped connection).

    Args:
        app: the vendor app.
        faults: what to inject (None = nothing).
        log: where to log requests (None = nowhere).
        error_body: builds the vendor's JSON body for an injected 5xx from the status code.
    """

    def __init__(self, app, faults: FaultPlan | None = None, log: RequestLog | None = None,
                 error_body: Callable[[int], dict] | None = None, admin_token: str | None = None):
        self.app, self.faults, self.log = app, faults, log
        self.admin_token = admin_token
        self.error_body = error_body or (lambda status: {"statusCode": status, "message": "Internal Server Error"})

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(STATE_PREFIX):
            if not scope["path"].startswith(PUBLIC_PREFIX) and not self._admin(scope):
                payload = b'{"message": "the sandbox\'s own routes need its token (Authorization: Bearer ...)"}'
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(payload)).encode())]})
                await send({"type": "http.response.body", "body": payload})
                return
            return await self.app(scope, receive, send)
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = b""
        more = True
        while more:  # read the whole body once, so the log and the app both see it
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)

        async def replay():
            return {"type": "http.request", "body": body, "more_body": False}

        status_box: list[int] = []

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status_box.append(message["status"])
            await send(message)

        try:
            await self._run(scope, replay, send_wrapper)
        finally:
            if self.log is not None:
                self.log.write(_log_entry(scope, body, status_box[0] if status_box else None))

    def _admin(self, scope) -> bool:
        """Whether the request carries the sandbox's token (``Authorization: Bearer`` or
        ``X-Sandbox-Token``); the state dump holds every record, the reset empties them."""
        if self.admin_token is None:
            return True
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-sandbox-token") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self.admin_token.encode())

    async def _run(self, scope, receive, send):
        f = self.faults
        if f is not None:
            d = f.delay()
            if d > 0:
                await asyncio.sleep(d)
            if f.draw(f.p_reset):
                # Promise more body than we send, then fail: uvicorn closes the connection and
                # the client sees a dropped connection mid-response (httpx RemoteProtocolError).
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")]})
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                raise ConnectionResetError("sandbox fault: connection reset")
            if f.draw(f.p5xx):
                payload = json.dumps(self.error_body(503)).encode()
                await send({"type": "http.response.start", "status": 503,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(payload)).encode())]})
                await send({"type": "http.response.body", "body": payload})
                return
            if f.p_lost > 0 and scope["method"] in _WRITES and "search" not in scope["path"]:
                return await self._lose_if_done(scope, receive, send)
        await self.app(scope, receive, send)

    async def _lose_if_done(self, scope, receive, send):
        """Run the request; when the server carried it out (2xx), maybe drop the answer (``lost``)."""
        held: list[dict] = []

        async def hold(message):
            held.append(message)

        await self.app(scope, receive, hold)
        status = next((m["status"] for m in held if m["type"] == "http.response.start"), None)
        if status is not None and 200 <= status < 300 and self.faults.draw(self.faults.p_lost):
            # the work is done; the client gets a connection dropped mid-response, as with reset
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")]})
            await send({"type": "http.response.body", "body": b"{", "more_body": True})
            raise ConnectionResetError("sandbox fault: response lost after the server acted")
        for message in held:
            await send(message)


def _log_entry(scope, body: bytes, status: int | None) -> dict[str, Any]:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    try:
        parsed: Any = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode("utf-8", "replace")
    if headers.get("content-type", "").startswith("multipart/"):
        # uploads: the parts' names and sizes, never file bytes (they can be 25 MB of PHI)
        parsed = {"multipart": _multipart_summary(body, headers["content-type"])}
    if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        # OAuth token requests: keep the grant type, never the secret, code or tokens
        parsed = {k: ("***" if k in _SECRET_FORM_FIELDS else v)
                  for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)}
    now = time.time()
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "t": round(now, 3),  # to the millisecond: a rate window at 4x lasts 2.5 s
        "method": scope["method"],
        "path": scope["path"],
        "query": scope.get("query_string", b"").decode("latin-1"),
        "headers": redact_headers(headers),
        "body": parsed,
        "status": status,
    }


def _multipart_summary(body: bytes, content_type: str) -> list[dict[str, Any]]:
    """Each part of a multipart body as {name, filename?, size, value?}: text values of small
    non-file parts only."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        return [{"size": len(body)}]
    parts = []
    for chunk in body.split(b"--" + m.group(1).encode())[1:-1]:
        head, _, data = chunk.partition(b"\r\n\r\n")
        head_text = head.decode("latin-1")
        name = re.search(r'name="([^"]*)"', head_text)
        filename = re.search(r'filename="([^"]*)"', head_text)
        data = data[:-2] if data.endswith(b"\r\n") else data
        part: dict[str, Any] = {"name": name.group(1) if name else None, "size": len(data)}
        if filename:
            part["filename"] = filename.group(1)
        elif len(data) <= 1000:
            part["value"] = data.decode("utf-8", "replace")
        parts.append(part)
    return parts


# --- running ------------------------------------------------------------------------------


def _bind(port: int) -> socket.socket:
    # Loopback only: a sandbox holds (fake) PHI-shaped data and a known token.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class SandboxHandle:
    """A running sandbox. Use as a context manager, or call :meth:`stop`.

    Attributes:
        url: base URL (``http://127.0.0.1:PORT``) to give an adapter as ``base_url``.
        token: the bearer token it accepts.
        location_id: the account (HighLevel location) it serves.
        name: the vendor name.
    """

    def __init__(self, name: str, url: str, token: str, location_id: str, state,
                 server: uvicorn.Server, thread: threading.Thread, options: dict | None = None):
        self.name, self.url, self.token, self.location_id = name, url, token, location_id
        self._state, self._server, self._thread = state, server, thread
        #: the destination options a workspace needs to reach this account (``DestinationConfig.options``)
        self.options = dict(options) if options is not None else {"location_id": location_id}

    def state(self) -> dict:
        """The whole sandbox state as plain JSON-able data (same as ``GET /__sandbox/state``)."""
        return self._state.dump()

    def reset(self) -> None:
        """Empty records and custom fields, keeping users, pipelines and the account settings."""
        self._state.reset()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and wait for the server thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> "SandboxHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:  # the token is fake, but keep habits: never print it by accident
        return f"<SandboxHandle {self.name} {self.url} location={self.location_id}>"


def _server_for(app) -> uvicorn.Server:
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    return uvicorn.Server(config)


def run_in_thread(app, port: int = 0, timeout: float = 10.0) -> tuple[uvicorn.Server, threading.Thread, int]:
    """Serve ``app`` on 127.0.0.1 in a daemon thread; return once it accepts connections.

    Returns:
        (server, thread, port) - the port is the real one when ``port`` was 0.

    Raises:
        RuntimeError: the server did not start within ``timeout`` seconds.
    """
    sock = _bind(port)
    real_port = sock.getsockname()[1]
    server = _server_for(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name=f"sandbox-{real_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"sandbox did not start on port {real_port}")
        time.sleep(0.01)
    return server, thread, real_port


def run_foreground(app, port: int, banner: Callable[[int], str]) -> None:
    """Serve ``app`` on 127.0.0.1 until interrupted, after printing ``banner(port)``."""
    sock = _bind(port)
    real_port = sock.getsockname()[1]
    print(banner(real_port), flush=True)
    _server_for(app).run(sockets=[sock])
