"""Pacing for one Freshsales account: a per-minute and a per-hour window, both shared.

Freshsales limits every paid plan to 400 requests a minute and 1,000-5,000 an hour per
account, whatever the number of users (research freshsales.md §2). Each window is a
:class:`~toolkit.destinations.ratelimit.RateLimiter` from the process-wide registry, so adapters on the
same account pace together. The vendor documents no rate-limit headers; its sister products
send ``X-RateLimit-Total``/``X-RateLimit-Remaining`` (§2), so the hourly window learns from
them when present and simply paces by the plan's figure when not.
"""

from __future__ import annotations

from ..ratelimit import RateLimiter, limiter_for
from .knowledge import PER_MINUTE, PLAN_HOURLY

__all__ = ["Pacer", "PER_MINUTE", "PLAN_HOURLY", "HOURLY_HEADERS"]

_UNSENT = "X-Freshsales-Not-Sent"
#: the Freshworks-family headers the hourly window reads (§2: "treat as possible")
HOURLY_HEADERS = {"max": "X-RateLimit-Total", "remaining": "X-RateLimit-Remaining", "interval_ms": _UNSENT,
                  "daily_limit": _UNSENT, "daily_remaining": _UNSENT}
_NO_HEADERS = {k: _UNSENT for k in HOURLY_HEADERS}


class Pacer:
    """Both windows of one account, used like one :class:`RateLimiter`.

    Args:
        account: the account key (API host and bundle alias).
        hourly: requests per hour (default the lowest paid plan's 1,000 until headers say more).
        per_minute: requests per minute (400 on every plan, §2).
        time_scale: how many times faster than real time the account's windows run - only a
            sandbox started with ``time_scale`` does that; the vendor sends no header that
            would tell (§2), so the windows are divided by it here.
        minute, hour: limiters to use instead of the shared ones (tests).
    """

    def __init__(self, account: str, *, hourly: int = 1000, per_minute: int = PER_MINUTE, time_scale: float = 1.0,
                 minute: RateLimiter | None = None, hour: RateLimiter | None = None):
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.minute = minute or limiter_for("freshsales", f"{account}/minute", max_requests=per_minute,
                                            interval=60.0 / time_scale, daily_limit=None, headers=_NO_HEADERS)
        self.hour = hour or limiter_for("freshsales", f"{account}/hour", max_requests=hourly,
                                        interval=3600.0 / time_scale, daily_limit=None, headers=HOURLY_HEADERS)

    @property
    def safety(self) -> float:
        """Fraction of each window used (the engine's ``pace`` sets it on both)."""
        return self.minute.safety

    @safety.setter
    def safety(self, value: float) -> None:
        self.minute.safety = self.hour.safety = value

    #: Freshsales has no daily quota (§2): nothing to track or exhaust
    daily_remaining: int | None = None

    def daily_exhausted(self) -> bool:
        return False

    def seen(self) -> dict:
        """The hourly budget as last reported (Freshsales has no daily one, §2); the hour's
        reset is not sent, so none is given."""
        import datetime as dt

        return {"per": "hour", "limit": self.hour.max_requests, "remaining": self.hour.server_remaining,
                "resets_at": None, "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}

    def acquire(self) -> float:
        """Wait until both windows have room; returns the seconds waited."""
        # The hour first: its wait is the long one, and the minute window then starts afresh.
        return self.hour.acquire() + self.minute.acquire()

    def update(self, headers) -> None:
        self.hour.update(headers)

    def penalize(self, retry_after: float | None) -> None:
        """After a 429: hold off ``retry_after`` seconds (one minute when the server gives none)."""
        self.minute.penalize(retry_after)

    @property
    def wait_reason(self) -> str | None:
        return self.hour.wait_reason or self.minute.wait_reason

    @property
    def waited(self) -> float:
        return self.hour.waited + self.minute.waited
