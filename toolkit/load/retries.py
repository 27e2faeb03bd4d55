"""Calls to a destination that survive transient failures: jittered exponential back-off.

Every call the toolkit makes to a destination — writes, reads, provisioning, the user list —
goes through one :class:`Retrier`, so that a 503 on a look-up is retried exactly as one on a
create is. What is transient is decided by type (:class:`~toolkit.errors.RetriableError`), never
by message text; a 429 waits at least as long as the server asked (``Retry-After``).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Callable, Iterator

from ..errors import RateLimitedError, RetriableError

__all__ = ["Retrier"]


class Retrier:
    """Retries transient failures with jittered exponential back-off.

    Args:
        max_attempts: tries per call before a transient failure is raised; 429s get four times
            as many (a 429 is the server pacing us, not a failure, but not forever).
        sleep: injected for tests.

    Attributes:
        counts: retries so far by kind (``429``, ``5xx``, ``connection``); a run reports them.
    """

    def __init__(self, max_attempts: int = 6, sleep: Callable[[float], None] = time.sleep):
        self.max_attempts, self.sleep = max_attempts, sleep
        self.counts: dict[str, int] = {}
        self._rng = random.Random()
        self._lock = threading.Lock()

    def backoff(self, attempt: int, exc: Exception) -> None:
        kind = "429" if isinstance(exc, RateLimitedError) else (
            "5xx" if getattr(exc, "status", None) else "connection")
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
        wait_s = min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + self._rng.random())
        if isinstance(exc, RateLimitedError) and exc.retry_after:
            wait_s = max(wait_s, exc.retry_after)
        self.sleep(wait_s)

    def count(self, exc: RetriableError, failures: int, limited: int) -> tuple[int, int]:
        """Count ``exc`` against the caps and wait; raise it once a cap is reached."""
        if isinstance(exc, RateLimitedError):
            limited += 1
            if limited >= 4 * self.max_attempts:
                raise exc
            self.backoff(min(limited, 3), exc)
        else:
            failures += 1
            if failures >= self.max_attempts:
                raise exc
            self.backoff(failures, exc)
        return failures, limited

    def call(self, fn, *args):
        """``fn(*args)``, retrying transient failures."""
        failures = limited = 0
        while True:
            try:
                return fn(*args)
            except RetriableError as exc:
                failures, limited = self.count(exc, failures, limited)

    def read_all(self, listing: Callable[[], Iterator]) -> list:
        """Every item ``listing()`` yields, surviving transient failures mid-listing.

        A listing is many calls; after a failure it is read again from the start, skipping the
        items already read. Only failures that make no progress count, against three times the
        usual cap: one pass may be dozens of calls.
        """
        out: list = []
        stalls = 0
        while True:
            try:
                for i, item in enumerate(listing()):
                    if i >= len(out):
                        out.append(item)
                        stalls = 0
                return out
            except RetriableError as exc:
                stalls += 1
                if stalls >= 3 * self.max_attempts:
                    raise
                self.backoff(min(stalls, 4), exc)
