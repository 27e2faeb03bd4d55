"""Client-side pacing: one :class:`RateLimiter` per destination account.

The binding constraint of a migration is the destination's quota (DESIGN.md, "Scale"); a 429 is
a wasted call. So every adapter request first :meth:`RateLimiter.acquire`-s a slot, and after
each response the limiter :meth:`RateLimiter.update`-s itself from the vendor's headers.

Pacing is a sliding log: at most ``max_requests * safety`` sends in any ``interval`` seconds.
That stays inside a server's fixed *or* sliding window. The server's own count (``Remaining``)
still wins when it is lower - another process may share the account. The daily budget is
tracked from the server's ``Daily-Remaining`` header; when it falls to ``daily_reserve`` the
limiter raises :class:`~toolkit.errors.QuotaExhaustedError` so the engine stops cleanly.

Limiters are shared per account through :func:`limiter_for` (a process-wide registry keyed by
(vendor, account)), so two adapters on one HighLevel location pace together. Across processes
(each step of a run is one), a limiter leaves when it saw the server's current fixed window begin
in a small file per account (``$CRM_MIGRATE_STATE_DIR``, else the user's cache directory), so
that the next step, starting mid-window, knows when that window ends instead of waiting a whole
interval from its first "0 left".
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import threading
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Mapping

from ..errors import QuotaExhaustedError

__all__ = ["RateLimiter", "limiter_for", "clear_registry", "HIGHLEVEL_HEADERS"]

#: header names HighLevel sends on every response (research highlevel.md §2)
HIGHLEVEL_HEADERS = {
    "max": "X-RateLimit-Max",
    "remaining": "X-RateLimit-Remaining",
    "interval_ms": "X-RateLimit-Interval-Milliseconds",
    "daily_limit": "X-RateLimit-Limit-Daily",
    "daily_remaining": "X-RateLimit-Daily-Remaining",
}


#: longest wait for a new limiter's first answer before the other requests go anyway
PROBE_WAIT = 2.0


def _next_utc_midnight(now: float) -> str:
    # HighLevel does not document when the daily budget resets; we assume the next UTC midnight
    # and say so to the person reading the message.
    t = datetime.fromtimestamp(now, timezone.utc)
    return (t + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0).isoformat().replace("+00:00", "Z")


class RateLimiter:
    """Thread-safe pacing for one account.

    Args:
        max_requests: burst size (HighLevel: 100).
        interval: burst window in seconds (HighLevel: 10).
        daily_limit: requests per day (HighLevel: 200,000), until headers say otherwise.
        safety: fraction of the burst we allow ourselves, leaving room for clock skew and for
            the 429s reported below the documented burst (research §2).
        daily_reserve: stop (QuotaExhaustedError) when the server reports this many or fewer
            daily requests left, keeping some for reads and a rollback.
        headers: which response headers carry what (default HighLevel's).
        clock: monotonic seconds (tests pass a fake).
        sleep: how to wait (tests pass one that advances the fake clock).
        wall: epoch seconds, for the resume time in QuotaExhaustedError.
        probe_first: send one request and wait for its answer (up to :data:`PROBE_WAIT`
            seconds) before the others: a process that starts while an earlier one's window is
            still running (reconcile after the load) learns what is left of it instead of
            drawing 429s with its first burst. :func:`limiter_for` turns it on.
        fixed_windows: the server counts fixed windows (HighLevel: a ``Remaining`` that refills
            at once), so a refill dates the window. False for a rolling window (Pipedrive's 2 s,
            research pipedrive.md §2.4), whose count recovers request by request: no window
            start is ever inferred.
        window_file: where this account's limiters (in any process) leave the start of the
            server's window they saw begin, and where a limiter that starts mid-window reads it.
            None: nothing is shared. :func:`limiter_for` sets one per account.
    """

    def __init__(self, *, max_requests: int = 100, interval: float = 10.0, daily_limit: int | None = 200_000,
                 safety: float = 0.9, daily_reserve: int = 100, headers: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 wall: Callable[[], float] = time.time, probe_first: bool = False,
                 fixed_windows: bool = True, window_file: str | Path | None = None):
        self.max_requests, self.interval, self.safety = max_requests, interval, safety
        self.daily_limit, self.daily_reserve = daily_limit, daily_reserve
        self.daily_remaining: int | None = None
        self.server_remaining: int | None = None
        self._server_seen_at = 0.0
        #: when the server's current fixed window began, as near as its answers tell (the first
        #: answer after its count refilled); None when not known
        self._server_window_start: float | None = None
        self._last_remaining: int | None = None
        #: when the newest request already answered was sent: an answer to a request sent before
        #: it (a slow upload, a request from the window before) is older news than the count we
        #: have, and is not read as the server's count, nor as a new window
        self._newest_answered: float | None = None
        self._probe_first, self._answered, self._first_sent = probe_first, False, None
        self.fixed_windows = fixed_windows
        self._windows_seen = False  # whether an answer ever showed a fixed window begin
        self.window_file = Path(window_file) if window_file and fixed_windows else None
        self._window_file_read = False
        self._local = threading.local()  # each thread's last send: acquire, send, update run on one thread
        self.headers = dict(headers or HIGHLEVEL_HEADERS)
        self._clock, self._sleep, self._wall = clock, sleep, wall
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._block_reason = ""
        self._lock = threading.Lock()
        self.wait_reason: str | None = None  # what we are waiting on right now, for progress output
        self.waited = 0.0  # total seconds spent waiting, for throughput reports

    def seen(self) -> dict:
        """What the server last said of the day's budget, for ``crm-migrate status``: the limit
        per day, the requests left (None until a response carried the header), the reset and
        when this was seen."""
        with self._lock:
            return {"per": "day", "limit": self.daily_limit, "remaining": self.daily_remaining,
                    "resets_at": _next_utc_midnight(self._wall()) if self.daily_limit else None,
                    "at": datetime.fromtimestamp(self._wall(), timezone.utc).isoformat(timespec="seconds")}

    @property
    def budget(self) -> int:
        """Requests we allow ourselves per interval."""
        return max(1, int(self.max_requests * self.safety))

    def acquire(self) -> float:
        """Block until a request may be sent; count it. Returns the seconds waited.

        Raises:
            QuotaExhaustedError: the daily budget is (nearly) spent.
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._check_daily()
                delay, reason = self._delay(now)
                if delay <= 0:
                    self._sent.append(now)
                    self._local.sent_at = now
                    if self._first_sent is None:
                        self._first_sent = now
                    if self.daily_remaining is not None:
                        self.daily_remaining -= 1
                    if self.server_remaining is not None:
                        self.server_remaining -= 1
                    self.wait_reason = None
                    self.waited += waited
                    return waited
                self.wait_reason = reason
            self._sleep(delay)
            waited += delay

    def _delay(self, now: float) -> tuple[float, str]:
        while self._sent and self._sent[0] <= now - self.interval:
            self._sent.popleft()
        if now < self._blocked_until:
            return self._blocked_until - now, self._block_reason
        if self._probe_first and not self._answered and self._first_sent is not None \
                and now - self._first_sent < PROBE_WAIT:
            return 0.02, "the first answer (what is left of the server's window)"
        if len(self._sent) >= self.budget:
            return self._sent[0] + self.interval - now, (
                f"burst limit: {self.budget} requests per {self.interval:g} s")
        if self.server_remaining is not None and self.server_remaining <= 0:
            # The server's window is spent (shared account, or our sliding count straddles its
            # fixed windows). It sends no reset time, but its window started no earlier than the
            # first answer that showed its count refilled: it rolls over one interval after that
            # (waiting from the last answer instead would idle most of the next window). Until a
            # refill has been seen, wait one interval from when it said 0.
            # (The count is the newest answer's figure less our sends the server had not seen;
            # older answers are not read, see update().) A fixed window we saw begin ends one
            # interval after; once it has ended by our clock, its count says nothing of the next
            # window, whose answers will. A process that never saw a window begin (it started
            # mid-window), or a server whose window rolls, waits a whole interval from the answer.
            self.server_remaining = None
            start = self._server_window_start
            if start is not None:
                until = start + self.interval
            elif self._windows_seen:
                until = now
            else:
                until = self._server_seen_at + self.interval
            if until > now:
                self._blocked_until, self._block_reason = until, "burst limit: server reports 0 remaining"
                return until - now, self._block_reason
        return 0.0, ""

    def _check_daily(self) -> None:
        if self.daily_remaining is not None and self.daily_remaining <= self.daily_reserve:
            self.wait_reason = "daily quota"
            raise QuotaExhaustedError(
                f"daily request quota nearly spent ({self.daily_remaining} left of {self.daily_limit}, "
                f"reserve {self.daily_reserve}); resume after it resets",
                resume_at=_next_utc_midnight(self._wall()))

    def update(self, headers: Mapping[str, str]) -> None:
        """Learn from a response's rate-limit headers (missing or garbled ones are ignored)."""
        def num(name: str) -> float | None:
            raw = headers.get(self.headers[name])
            try:
                return float(raw) if raw is not None else None
            except ValueError:
                return None

        with self._lock:
            if (v := num("max")) is not None and v > 0:
                self.max_requests = int(v)
            if (v := num("interval_ms")) is not None and v > 0:
                self.interval = v / 1000.0
            self._answered = True
            sent_at = getattr(self._local, "sent_at", None)
            stale = sent_at is not None and self._newest_answered is not None and sent_at < self._newest_answered
            if sent_at is not None and not stale:
                self._newest_answered = sent_at
            if (v := num("remaining")) is not None and not stale:
                now = self._clock()
                last = self._last_remaining
                # a count that jumps up is a new window (so is a first answer from a window with
                # hardly anything in it yet); answers of one window that arrive out of order move
                # it by a few, which is not taken for one. The start is dated by the answer, never
                # before the window's true start, so waiting for its end is never too early.
                jump = max(4, self.max_requests // 4)
                refilled = v - last > jump if last is not None else v >= self.max_requests - jump
                if refilled and self.fixed_windows:
                    self._server_window_start = now
                    self._windows_seen = True
                    self._leave_window(now)
                elif self._server_window_start is None and not self._windows_seen and not self._window_file_read:
                    # the first answer, from mid-window: an earlier process may have seen it begin
                    self._window_file_read = True
                    self._read_window(now)
                elif self._server_window_start is not None and now - self._server_window_start >= self.interval:
                    self._server_window_start = None  # that window is over; the next refill says when
                self._last_remaining = int(v)
                # the server counted up to this request; our sends after it are not in its figure
                later = len(self._sent) - bisect.bisect_right(self._sent, sent_at) if sent_at is not None else 0
                self.server_remaining = int(v) - later
                self._server_seen_at = now
            if (v := num("daily_limit")) is not None:
                self.daily_limit = int(v)
            if (v := num("daily_remaining")) is not None:
                self.daily_remaining = int(v)

    def _leave_window(self, now: float) -> None:
        """Write when the window we saw begin began (wall clock) for the account's next process."""
        if self.window_file is None:
            return
        try:
            self.window_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.window_file.with_name(f"{self.window_file.name}.{os.getpid()}.{threading.get_ident()}")
            tmp.write_text(json.dumps({"start": self._wall() - (self._clock() - now), "interval": self.interval}))
            os.replace(tmp, self.window_file)
        except OSError:
            pass  # a hint only: without it, a later process waits a whole interval at its first "0 left"

    def _read_window(self, now: float) -> None:
        """Take the window an earlier process saw begin, if ``now`` is still inside it."""
        if self.window_file is None:
            return
        try:
            seen = json.loads(self.window_file.read_text())
            start, interval = float(seen["start"]), float(seen["interval"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        ago = self._wall() - start
        if 0 <= ago < interval and abs(interval - self.interval) < 1e-6:
            self._server_window_start = now - ago
            self._windows_seen = True

    def penalize(self, retry_after: float | None) -> None:
        """After a 429: send nothing for ``retry_after`` seconds (or one interval when unknown)."""
        with self._lock:
            wait = retry_after if retry_after is not None and retry_after >= 0 else self.interval
            until = self._clock() + wait
            if until > self._blocked_until:
                self._blocked_until, self._block_reason = until, f"rate limited by the server (429), waiting {wait:.1f} s"

    def daily_exhausted(self) -> bool:
        """Whether the next :meth:`acquire` would raise QuotaExhaustedError."""
        with self._lock:
            return self.daily_remaining is not None and self.daily_remaining <= self.daily_reserve


_registry: dict[tuple[str, str], RateLimiter] = {}
_registry_lock = threading.Lock()


def window_file(vendor: str, account: str) -> Path:
    """Where the limiters of (vendor, account) share the window they saw begin (the account is
    hashed: the file names no host or location)."""
    base = os.environ.get("CRM_MIGRATE_STATE_DIR") or \
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crm-migrate"
    return Path(base) / "windows" / (hashlib.sha256(f"{vendor}\0{account}".encode()).hexdigest()[:24] + ".json")


def limiter_for(vendor: str, account: str, **options) -> RateLimiter:
    """The shared limiter for (vendor, account), created with ``options`` on first use."""
    with _registry_lock:
        lim = _registry.get((vendor, account))
        if lim is None:
            lim = _registry[(vendor, account)] = RateLimiter(
                **{"probe_first": True, "window_file": window_file(vendor, account), **options})
        return lim


def clear_registry() -> None:
    """Forget every shared limiter (tests; a long-lived process switching accounts)."""
    with _registry_lock:
        _registry.clear()
