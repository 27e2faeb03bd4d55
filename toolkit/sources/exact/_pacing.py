"""Staying inside Exact Online's limits: the minute, the day and the error budget.

From ../shared/research/exact.md §3 and §2:

* 60 calls a minute and 5,000 a day per app and division. Every division call reports
  ``X-RateLimit-Minutely-Limit/-Remaining/-Reset`` and the daily ``X-RateLimit-Limit/-Remaining/-Reset``
  (no ``Daily`` in those names); resets are epoch **milliseconds**. When the minute is spent only the
  minutely headers come back, so a missing daily header means "unknown", never "0 left".
* Exact recommends a local per-division counter as well; we keep a sliding log of our own sends
  (at most ``per_minute`` in any ``minute`` seconds) *and* obey the server's remaining/reset, waiting
  until its reset when it reports 0. Both survive a restart through :meth:`Pacer.state`.
* When the day's budget is down to ``daily_reserve`` we stop with :class:`ExtractionPaused` naming
  the reset time; everything read so far is already checkpointed.
* More than 10 errors (400/401/403/404) per endpoint and hour block the key for an hour. We never
  retry such an error, and refuse to call an endpoint that already has ``budget`` of them in the
  last hour (default 5, half of Exact's), counted across runs in the checkpoint file.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from typing import Callable, Mapping

from ...errors import SourceError

__all__ = ["Pacer", "ErrorBudget", "ExtractionPaused", "KeyBlocked", "HEADERS"]

HEADERS = {
    "minutely_limit": "X-RateLimit-Minutely-Limit", "minutely_remaining": "X-RateLimit-Minutely-Remaining",
    "minutely_reset": "X-RateLimit-Minutely-Reset", "daily_limit": "X-RateLimit-Limit",
    "daily_remaining": "X-RateLimit-Remaining", "daily_reset": "X-RateLimit-Reset",
}
MARGIN = 0.05  # seconds after a reported reset before we send again (clocks differ a little)


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class ExtractionPaused(SourceError):
    """The day's call budget is spent: stopped cleanly, everything read so far is kept.

    Attributes:
        resume_at: when the budget resets (ISO 8601, UTC), if Exact said.
    """

    def __init__(self, message: str, *, resume_at: str | None = None):
        self.resume_at = resume_at
        super().__init__(message)


class KeyBlocked(SourceError):
    """The error budget is spent (ours or Exact's): no call is made until the hour has passed."""

    def __init__(self, message: str, *, resume_at: str | None = None):
        self.resume_at = resume_at
        super().__init__(message)


class Pacer:
    """Decides when the next call may go, from our own sends and Exact's headers.

    Args:
        per_minute: our local budget per window (Exact's 60).
        minute: the window in seconds (60; a sandbox sped up by ``time_scale`` needs 60/time_scale).
        daily_reserve: stop when the server reports this many calls left today or fewer.
        wall: epoch seconds (sends are logged in wall time so the log survives a restart);
            sleep: how to wait (tests inject both).
    """

    def __init__(self, *, per_minute: int = 60, minute: float = 60.0, daily_reserve: int = 0,
                 wall: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.per_minute, self.minute, self.daily_reserve = per_minute, minute, daily_reserve
        self.wall, self.sleep = wall, sleep
        self._sent: deque[float] = deque()  # wall times of our sends in the current window
        self.minutely_remaining: int | None = None
        self.minutely_reset: float | None = None  # epoch seconds
        self.daily_limit: int | None = None
        self.daily_remaining: int | None = None
        self.daily_reset: float | None = None
        self.waited = 0.0
        self.calls = 0

    # --- persistence across processes ------------------------------------------------------------
    def state(self) -> dict:
        return {"sent": list(self._sent), "minutely_remaining": self.minutely_remaining,
                "minutely_reset": self.minutely_reset, "daily_limit": self.daily_limit,
                "daily_remaining": self.daily_remaining, "daily_reset": self.daily_reset}

    def restore(self, saved: dict | None) -> None:
        if not saved:
            return
        self._sent = deque(saved.get("sent") or [])
        for k in ("minutely_remaining", "minutely_reset", "daily_limit", "daily_remaining", "daily_reset"):
            setattr(self, k, saved.get(k))

    # --- the gate --------------------------------------------------------------------------------------
    def before_call(self) -> None:
        """Wait until a call is allowed, then count it.

        Raises:
            ExtractionPaused: today's budget is down to the reserve.
        """
        while True:
            now = self.wall()
            if self.daily_reset is not None and now >= self.daily_reset:
                self.daily_remaining, self.daily_reset = None, None  # a new day: wait for fresh headers
            if self.daily_remaining is not None and self.daily_remaining <= self.daily_reserve:
                at = _when(self.daily_reset) if self.daily_reset else None
                raise ExtractionPaused(
                    f"Exact Online's daily call limit is reached ({self.daily_remaining} of {self.daily_limit} left, "
                    f"reserve {self.daily_reserve}); extraction stopped cleanly with every page read so far kept"
                    + (f"; run it again after {at} to resume where it stopped" if at else "; run it again tomorrow"),
                    resume_at=at)
            while self._sent and self._sent[0] <= now - self.minute:
                self._sent.popleft()
            delay = 0.0
            if len(self._sent) >= self.per_minute:
                delay = self._sent[0] + self.minute - now + MARGIN
            if self.minutely_remaining is not None and self.minutely_remaining <= 0 and self.minutely_reset:
                if now < self.minutely_reset + MARGIN:
                    delay = max(delay, self.minutely_reset + MARGIN - now)
                else:
                    self.minutely_remaining = None  # the server's minute has rolled over
            if delay <= 0:
                self._sent.append(now)
                self.calls += 1
                if self.minutely_remaining is not None:
                    self.minutely_remaining -= 1
                if self.daily_remaining is not None:
                    self.daily_remaining -= 1
                return
            self.sleep(delay)
            self.waited += delay

    def after_call(self, headers: Mapping[str, str]) -> None:
        """Learn from a response's headers; missing or garbled ones change nothing."""
        def num(name: str) -> float | None:
            raw = headers.get(HEADERS[name])
            try:
                return float(raw) if raw not in (None, "") else None
            except ValueError:
                return None

        if (v := num("minutely_remaining")) is not None:
            self.minutely_remaining = int(v)
        if (v := num("minutely_reset")) is not None:
            self.minutely_reset = v / 1000.0
        if (v := num("minutely_limit")) is not None and v > 0:
            self.per_minute = min(self.per_minute, int(v))
        if (v := num("daily_limit")) is not None:
            self.daily_limit = int(v)
        if (v := num("daily_remaining")) is not None:
            self.daily_remaining = int(v)
        if (v := num("daily_reset")) is not None:
            self.daily_reset = v / 1000.0

    def rate_limited(self, headers: Mapping[str, str]) -> None:
        """After a 429: learn the headers; a spent day pauses, a spent minute waits for its reset."""
        self.after_call(headers)
        if HEADERS["daily_remaining"] in headers and self.daily_remaining is not None and self.daily_remaining <= 0:
            self.before_call()  # raises ExtractionPaused with the reset time
        if self.minutely_reset is None or self.minutely_reset <= self.wall():
            self.minutely_reset = self.wall() + self.minute  # no usable reset: wait a whole window
        self.minutely_remaining = 0


class ErrorBudget:
    """Counts our 4xx answers per endpoint (in the checkpoint file) and stops before Exact blocks us.

    Args:
        store: the :class:`~._checkpoints.Checkpoints` holding the error log.
        budget: errors per endpoint per hour we allow ourselves.
        hour: the window in seconds (3600; shorter for a sped-up sandbox).
        wall: epoch seconds.
    """

    COUNTED = {400, 401, 403, 404}

    def __init__(self, store, *, budget: int = 5, hour: float = 3600.0, wall: Callable[[], float] = time.time):
        self.store, self.budget, self.hour, self.wall = store, budget, hour, wall

    def check(self, endpoint: str) -> None:
        """Raise :class:`KeyBlocked` if ``endpoint`` has spent its budget in the last hour."""
        recent = self.store.errors_since(endpoint, self.wall() - self.hour)
        if len(recent) >= self.budget:
            at = _when(recent[0] + self.hour)
            raise KeyBlocked(f"not calling {endpoint}: it answered {len(recent)} errors in the last hour, and "
                             "more than 10 would get the API key blocked for an hour; fix the cause and run again "
                             f"after {at}", resume_at=at)

    def record(self, endpoint: str, status: int, message: str) -> None:
        if status in self.COUNTED:
            self.store.add_error(endpoint, status, message, self.wall())
