"""Pipedrive's token-based rate limiting (research pipedrive.md section 2), on a virtual clock.

Two limits apply to every authenticated request:

* **Burst** - per token, a rolling 2-second window: 20/40/100/120 requests for an API token on
  Lite/Growth/Premium/Ultimate, four times that for an OAuth access token; the Search API has
  its own 10 requests per 2 s on every plan (section 2.4).
* **Daily budget** - per company, 30,000 base tokens x plan multiplier (1/2/5/7) x seats; each
  operation costs its ``x-token-cost`` (section 2.3). A refused request costs nothing.

Each decision carries what the vendor's headers report (section 2.5): ``x-ratelimit-limit``,
``-remaining``, ``-reset`` and the daily ``x-daily-ratelimit-token-limit`` / ``-remaining``.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

from .._server import VirtualClock

__all__ = ["TokenBudget", "Verdict", "PLANS", "BASE_TOKENS", "WINDOW_SECONDS", "SEARCH_BURST"]

#: plan -> (daily multiplier, API-token burst, OAuth burst) per 2 s (research sections 2.2, 2.4)
PLANS: dict[str, tuple[int, int, int]] = {
    "lite": (1, 20, 80), "growth": (2, 40, 160), "premium": (5, 100, 400), "ultimate": (7, 120, 480),
}
BASE_TOKENS = 30_000
WINDOW_SECONDS = 2.0
SEARCH_BURST = 10


@dataclass
class Verdict:
    """One request's outcome against the limits (durations in virtual seconds)."""

    allowed: bool
    limit: int
    remaining: int
    reset: float
    daily_limit: int
    daily_remaining: int
    reason: str = ""  # "burst", "search" or "daily" when refused


class TokenBudget:
    """Rolling burst windows per token and a daily token budget per company.

    Args:
        clock: the virtual clock.
        plan: lite, growth, premium or ultimate.
        seats: paid seats (multiplies the daily budget).
        burst: API-token burst per window, overriding the plan's (tests use small ones).
        oauth_burst: OAuth burst per window, overriding the plan's.
        daily: daily token budget, overriding the formula.
        window: burst window in virtual seconds.
        enforce_factor: fraction of the advertised burst actually enforced (the ``429=burst``
            fault: 429s below the documented burst while the headers advertise the full one).
    """

    def __init__(self, clock: VirtualClock, *, plan: str = "growth", seats: int = 5, burst: int | None = None,
                 oauth_burst: int | None = None, daily: int | None = None, window: float = WINDOW_SECONDS,
                 enforce_factor: float = 1.0):
        if plan not in PLANS:
            raise ValueError(f"unknown Pipedrive plan {plan!r} (known: {', '.join(PLANS)})")
        mult, api_burst, oa_burst = PLANS[plan]
        self.clock, self.window = clock, window
        self.burst = burst or api_burst
        self.oauth_burst = oauth_burst or (burst * 4 if burst else oa_burst)
        self.daily = daily if daily is not None else BASE_TOKENS * mult * seats
        self.enforce_factor = enforce_factor
        self._lock = threading.Lock()
        self._sent: dict[tuple[str, str], deque[float]] = {}
        self._day = 0
        self._spent = 0

    def charge(self, token_key: str, *, oauth: bool, cost: int, search: bool) -> Verdict:
        """Count one request of ``cost`` tokens for ``token_key`` and decide on it."""
        with self._lock:
            now = self.clock.now()
            day = int(now // 86_400)
            if day != self._day:
                self._day, self._spent = day, 0
            limit = SEARCH_BURST if search else (self.oauth_burst if oauth else self.burst)
            windows = [("search", SEARCH_BURST)] if search else []
            windows.append(("all", self.oauth_burst if oauth else self.burst))
            logs = {kind: self._log(token_key, kind, now) for kind, _ in windows}
            shown = logs["search" if search else "all"]
            daily_left = max(0, self.daily - self._spent)
            if self._spent + cost > self.daily:
                until_midnight = (day + 1) * 86_400 - now
                return Verdict(False, limit, max(0, limit - len(shown)), until_midnight, self.daily, daily_left, "daily")
            for kind, cap in windows:
                log = logs[kind]
                enforced = max(1, math.floor(cap * self.enforce_factor))
                if len(log) >= enforced:
                    reset = log[-enforced] + self.window - now
                    return Verdict(False, limit, max(0, limit - len(shown)), max(0.0, reset), self.daily,
                                   daily_left, "search" if kind == "search" else "burst")
            for kind, _ in windows:
                logs[kind].append(now)
            self._spent += cost
            reset = shown[0] + self.window - now if shown else self.window
            return Verdict(True, limit, max(0, limit - len(shown)), max(0.0, reset), self.daily,
                           max(0, self.daily - self._spent))

    def _log(self, token_key: str, kind: str, now: float) -> deque[float]:
        log = self._sent.setdefault((token_key, kind), deque())
        while log and log[0] <= now - self.window:
            log.popleft()
        return log

    def spent(self) -> int:
        """Tokens spent today (for the state dump)."""
        with self._lock:
            return self._spent
