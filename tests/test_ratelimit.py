"""RateLimiter: pacing inside the burst window, learning from HighLevel's headers, daily quota.

A fake clock stands in for time: ``sleep`` advances it, so nothing here really waits.
"""

from __future__ import annotations

import threading

import pytest

from toolkit.errors import QuotaExhaustedError
from toolkit.destinations.ratelimit import RateLimiter, clear_registry, limiter_for


class FakeClock:
    def __init__(self):
        self.t = 1000.0
        self.sleeps: list[float] = []
        self.reasons: list[str | None] = []
        self.limiter: RateLimiter | None = None

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.reasons.append(self.limiter.wait_reason if self.limiter else None)
        self.t += s


def make(**kw) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    lim = RateLimiter(clock=clock, sleep=clock.sleep, wall=lambda: 1_700_000_000.0, **kw)
    clock.limiter = lim
    return lim, clock


def test_paces_to_the_burst_budget_without_waiting_inside_it():
    lim, clock = make(max_requests=10, interval=10.0, safety=0.9)
    for _ in range(9):
        assert lim.acquire() == 0.0
    assert clock.sleeps == []
    # the 10th would exceed 90% of the burst: it waits until the first send leaves the window
    assert lim.acquire() == pytest.approx(10.0)
    assert clock.reasons == ["burst limit: 9 requests per 10 s"]
    assert lim.wait_reason is None  # not waiting any more


def test_never_more_than_budget_in_any_window():
    lim, clock = make(max_requests=20, interval=1.0, safety=1.0)
    sends = []
    for i in range(100):
        lim.acquire()
        sends.append(clock.t)
        clock.t += 0.013 * (i % 3)  # irregular work between requests
    for i, t in enumerate(sends):
        assert sum(1 for s in sends[i:] if s < t + 1.0) <= 20


def test_learns_from_vendor_headers():
    lim, _ = make()
    lim.update({"X-RateLimit-Max": "50", "X-RateLimit-Interval-Milliseconds": "2000",
                "X-RateLimit-Remaining": "49", "X-RateLimit-Limit-Daily": "5000",
                "X-RateLimit-Daily-Remaining": "4999"})
    assert (lim.max_requests, lim.interval, lim.daily_limit, lim.daily_remaining) == (50, 2.0, 5000, 4999)
    lim.update({"X-RateLimit-Max": "garbage"})  # ignored, not fatal
    assert lim.max_requests == 50


def test_server_reporting_zero_remaining_makes_it_wait_for_the_window():
    lim, clock = make(max_requests=100, interval=10.0)
    lim.acquire()
    lim.update({"X-RateLimit-Remaining": "0"})  # someone else is using the account
    clock.t += 4.0
    assert lim.acquire() == pytest.approx(6.0)  # 10 s after the server said 0
    assert clock.reasons == ["burst limit: server reports 0 remaining"]


def test_stale_zero_remaining_does_not_block():
    lim, clock = make(max_requests=100, interval=10.0)
    lim.update({"X-RateLimit-Remaining": "0"})
    clock.t += 30.0
    assert lim.acquire() == 0.0


def test_after_a_429_it_holds_off_for_retry_after():
    lim, clock = make()
    lim.penalize(3.5)
    assert lim.acquire() == pytest.approx(3.5)
    assert "429" in clock.reasons[0]


def test_daily_quota_raises_with_resume_time():
    lim, _ = make(daily_reserve=5)
    lim.update({"X-RateLimit-Daily-Remaining": "7", "X-RateLimit-Limit-Daily": "200000"})
    lim.acquire()
    lim.acquire()  # 7 -> 5 counted locally
    assert lim.daily_exhausted()
    with pytest.raises(QuotaExhaustedError) as ei:
        lim.acquire()
    assert ei.value.resume_at == "2023-11-15T00:00:00Z"  # next UTC midnight after the fake wall time
    assert lim.wait_reason == "daily quota"


def test_registry_shares_one_limiter_per_account():
    clear_registry()
    a = limiter_for("highlevel", "loc-1")
    assert limiter_for("highlevel", "loc-1") is a
    assert limiter_for("highlevel", "loc-2") is not a
    assert limiter_for("freshsales", "loc-1") is not a
    clear_registry()
    assert limiter_for("highlevel", "loc-1") is not a


def test_thread_safe_counting():
    lim, clock = make(max_requests=10_000, interval=10.0, safety=1.0)
    lock = threading.Lock()

    def sleep(s):  # the fake clock shared between threads must not tear
        with lock:
            clock.t += s

    lim._sleep = sleep
    threads = [threading.Thread(target=lambda: [lim.acquire() for _ in range(200)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(lim._sent) == 1600


def test_zero_remaining_waits_only_for_the_end_of_the_servers_own_window():
    # the server counts fixed windows; our sliding count can spill a few requests into the tail
    # of its window. Its refill (remaining jumping back up) dates its window: when it then says 0,
    # we wait until that window's end, not a whole interval from its last answer.
    lim, clock = make(max_requests=100, interval=10.0, safety=0.97)
    lim.update({"X-RateLimit-Remaining": "3"})  # the end of the server's previous window
    clock.t += 0.5
    lim.update({"X-RateLimit-Remaining": "99"})  # refilled: its window began about now (t0 + 0.5)
    start = clock.t
    clock.t += 9.7
    lim.update({"X-RateLimit-Remaining": "0"})  # spent 9.7 s into that window
    assert lim.acquire() == pytest.approx(0.3)  # not 10 s: only what is left of the server's window
    assert clock.t == pytest.approx(start + 10.0)
    assert clock.reasons == ["burst limit: server reports 0 remaining"]


def test_out_of_order_answers_are_not_taken_for_a_new_window():
    lim, clock = make(max_requests=100, interval=10.0)
    lim.update({"X-RateLimit-Remaining": "60"})
    clock.t += 0.1
    lim.update({"X-RateLimit-Remaining": "57"})
    clock.t += 0.1
    lim.update({"X-RateLimit-Remaining": "59"})  # an earlier request's answer, arriving late
    clock.t += 1.0
    lim.update({"X-RateLimit-Remaining": "0"})
    # no refill seen: the safe rule, one interval from the answer that said 0
    assert lim.acquire() == pytest.approx(10.0)


def test_a_first_answer_from_a_fresh_window_dates_it():
    # a new process: its first answer says 99 of 100 left, so the server's window began about now
    lim, clock = make(max_requests=100, interval=10.0, safety=0.97)
    lim.update({"X-RateLimit-Remaining": "99"})
    start = clock.t
    clock.t += 10.0 - 0.05
    lim.update({"X-RateLimit-Remaining": "0"})  # our sliding count spilled into its window's tail
    assert lim.acquire() == pytest.approx(0.05)
    assert clock.t == pytest.approx(start + 10.0)


class FixedWindowServer:
    """A server that counts its own fixed windows, on a schedule the client does not know."""

    def __init__(self, clock: FakeClock, burst: int, window: float, offset: float):
        self.clock, self.burst, self.window, self.offset = clock, burst, window, offset
        self.counts: dict[int, int] = {}
        self.refused = 0

    def hit(self) -> tuple[int, dict]:
        k = int((self.clock.t - self.offset) // self.window)
        used = self.counts.get(k, 0)
        if used >= self.burst:
            self.refused += 1
            left = self.offset + (k + 1) * self.window - self.clock.t
            return 429, {"X-RateLimit-Remaining": "0", "Retry-After": f"{left:.3f}"}
        self.counts[k] = used + 1
        return 200, {"X-RateLimit-Max": str(self.burst), "X-RateLimit-Remaining": str(self.burst - used - 1),
                     "X-RateLimit-Interval-Milliseconds": str(int(self.window * 1000))}


@pytest.mark.parametrize("offset", [0.0, 3.3, 7.9])
@pytest.mark.parametrize("latency", [0.01, 0.2])
def test_every_window_of_a_server_with_its_own_schedule_is_used_to_the_pace(offset, latency):
    # A long load against a server whose windows start where it likes: every full window it
    # counts carries the pace's 97 of 100 requests, and it never has to refuse one.
    lim, clock = make(max_requests=100, interval=10.0, safety=0.97)
    server = FixedWindowServer(clock, burst=100, window=10.0, offset=clock.t + offset)
    in_flight: list[tuple[float, int, dict]] = []  # answers arrive `latency` after the send
    for _ in range(3000):
        lim.acquire()
        in_flight.append((clock.t + latency,) + server.hit())
        clock.t += 0.001  # the next worker's call goes out almost at once
        while in_flight and in_flight[0][0] <= clock.t:
            _, status, headers = in_flight.pop(0)
            lim.update(headers)
            if status == 429:
                lim.penalize(float(headers["Retry-After"]))
        if len(in_flight) >= 6:  # six workers: the seventh call waits for an answer
            clock.t = max(clock.t, in_flight[0][0])
    assert server.refused == 0
    windows = [server.counts[k] for k in sorted(server.counts)][1:-1]  # the first and last are partial
    assert len(windows) >= 25
    assert min(windows) >= 97, windows


def test_a_fresh_process_that_finds_the_window_nearly_spent_waits_instead_of_drawing_429s():
    # reconcile starts in a new process right after the load: the server's window is nearly
    # spent (2 left) and nothing says when it began. Sends that would overdraw it wait for the
    # window to pass rather than be refused.
    lim, clock = make(max_requests=100, interval=10.0, safety=0.97)
    lim.update({"X-RateLimit-Remaining": "2"})
    assert lim.acquire() == 0 and lim.acquire() == 0
    assert lim.acquire() == pytest.approx(10.0)


def test_an_answer_that_said_0_still_waits_when_the_window_start_is_unknown():
    lim, clock = make(max_requests=100, interval=10.0, safety=0.97)
    lim.update({"X-RateLimit-Remaining": "40"})  # mid-window: no start known
    clock.t += 1.0
    lim.update({"X-RateLimit-Remaining": "0"})  # another process spent it
    assert lim.acquire() == pytest.approx(10.0)


def test_a_late_answer_from_the_window_before_does_not_pause_the_new_one():
    # Two requests in flight across the server's window change: the one sent later is answered
    # first, from the new window (99 left); the one sent earlier is answered after it, from the
    # old window (3 left). That late 3 says nothing of the new window: no pause follows.
    lim, clock = make(max_requests=100, interval=10.0, safety=0.97)
    lim.update({"X-RateLimit-Remaining": "99"})
    clock.t += 9.0
    lim.update({"X-RateLimit-Remaining": "5"})  # the old window nearly spent
    clock.t += 0.9
    lim.acquire()  # sent in the old window's last moment
    early = lim._local.sent_at
    clock.t += 0.2
    lim.acquire()  # sent in the new window
    lim.update({"X-RateLimit-Remaining": "99"})  # its answer: the new window began
    lim._local.sent_at = early
    lim.update({"X-RateLimit-Remaining": "3"})  # the earlier request's answer arrives late
    lim._sent.clear()
    waited = [lim.acquire() for _ in range(10)]
    assert sum(waited) == 0, waited


def test_a_count_left_from_a_fixed_window_that_has_ended_does_not_pause_the_next():
    # Slow calls: by our clock the window we saw begin has ended before any answer from the next
    # one, and the last answer (from the old window) says 2 left. That count is the old window's:
    # sends past it go into the new one, without a pause.
    lim, clock = make(max_requests=100, interval=10.0, safety=0.97)
    lim.update({"X-RateLimit-Remaining": "60"})
    clock.t += 0.1
    lim.update({"X-RateLimit-Remaining": "99"})  # a window begins
    clock.t += 10.2
    lim.update({"X-RateLimit-Remaining": "2"})
    lim._sent.clear()
    waited = [lim.acquire() for _ in range(6)]
    assert sum(waited) == 0, waited


def test_a_rolling_window_never_dates_a_window_and_waits_when_its_count_is_spent():
    # Pipedrive's window rolls (research pipedrive.md §2.4): a count that rises is requests
    # leaving the window, not a new one; at 0 the limiter waits an interval from the answer
    lim, clock = make(max_requests=40, interval=2.0, safety=0.97, fixed_windows=False)
    lim.update({"X-RateLimit-Remaining": "5"})
    clock.t += 0.1
    lim.update({"X-RateLimit-Remaining": "39"})
    assert lim._server_window_start is None
    lim.update({"X-RateLimit-Remaining": "1"})
    lim._sent.clear()
    lim.acquire()
    assert lim.acquire() == pytest.approx(2.0)


def test_a_new_process_asks_once_before_its_first_burst():
    # reconcile starts while the load's window still runs: its first request goes alone, and the
    # rest wait for its answer, which says how much of the window is left (2 here)
    lim, clock = make(max_requests=100, interval=10.0, safety=0.97, probe_first=True)
    assert lim.acquire() == 0
    start = clock.t

    def answer_on_first_wait(s):
        if not lim._answered:
            lim.update({"X-RateLimit-Remaining": "2"})  # the probe's answer arrives meanwhile
        clock.t += s
    lim._sleep = answer_on_first_wait
    assert lim.acquire() == pytest.approx(0.02)  # waited for the answer, then went: 1 left
    assert lim.acquire() == 0  # the last one
    lim.acquire()  # none left: it waits for the window to pass instead of drawing a 429
    assert clock.t - start >= 10.0


def test_without_an_answer_the_probe_waits_no_longer_than_its_limit():
    from toolkit.destinations.ratelimit import PROBE_WAIT

    lim, clock = make(max_requests=100, interval=10.0, safety=0.97, probe_first=True)
    lim.acquire()  # its answer never comes (the connection failed)
    assert lim.acquire() == pytest.approx(PROBE_WAIT, abs=0.05)


def test_a_slow_answer_from_earlier_in_the_window_is_not_taken_for_a_new_window():
    # a slow upload sent early in the window is answered after quicker requests sent later: its
    # higher count (70 left, against the 40 already seen) is older news, not a refill, so the
    # window's true start still decides when it ends
    lim, clock = make(max_requests=100, interval=10.0, safety=0.97)
    lim.update({"X-RateLimit-Remaining": "60"})
    clock.t += 0.1
    lim.update({"X-RateLimit-Remaining": "99"})  # the window begins
    window_start = clock.t
    lim.acquire()
    slow = lim._local.sent_at  # the upload goes out
    clock.t += 1.0
    lim.acquire()
    lim.update({"X-RateLimit-Remaining": "40"})  # a quick request sent after it, answered first
    clock.t += 0.5
    lim._local.sent_at = slow
    lim.update({"X-RateLimit-Remaining": "70"})  # the upload's answer, late
    assert lim._server_window_start == window_start
    assert lim.server_remaining == 40


def test_the_servers_count_leaves_out_our_sends_it_had_not_seen():
    # six requests in flight; the first one's answer says 5 left. The five sent after it are not
    # in that figure: the window has no room left, and the next send waits for its end.
    lim, clock = make(max_requests=100, interval=10.0, safety=0.97)
    lim.update({"X-RateLimit-Remaining": "60"})
    clock.t += 0.1
    lim.update({"X-RateLimit-Remaining": "99"})  # a window begins
    start = clock.t
    sent = []
    for _ in range(6):
        lim.acquire()
        sent.append(lim._local.sent_at)
        clock.t += 0.01
    lim._local.sent_at = sent[0]
    lim.update({"X-RateLimit-Remaining": "5"})  # another process took most of the window
    assert lim.server_remaining == 0
    lim.acquire()
    assert clock.t == pytest.approx(start + 10.0)


def test_a_new_process_mid_window_waits_for_the_window_an_earlier_one_saw_begin(tmp_path):
    # the load (one process) sees the server's window begin; reconcile (the next process) starts
    # 4 s later, sends what is left, and at "0 left" waits for that window's end, 6 s on, not a
    # whole interval from its own answer
    wall = {"t": 1_700_000_000.0}
    shared = tmp_path / "window.json"

    def process():
        clock = FakeClock()
        lim = RateLimiter(max_requests=100, interval=10.0, safety=0.97, clock=clock, wall=lambda: wall["t"],
                          window_file=shared)

        def sleep(s):
            clock.t += s
            wall["t"] += s
        lim._sleep = sleep
        return lim, clock

    load, load_clock = process()
    load.update({"X-RateLimit-Remaining": "40"})
    load_clock.t += 0.1
    wall["t"] += 0.1
    load.update({"X-RateLimit-Remaining": "99"})  # the window begins
    began = wall["t"]
    wall["t"] += 4.0

    reconcile, _ = process()
    reconcile.acquire()
    reconcile.update({"X-RateLimit-Remaining": "0"})  # mid-window: nothing left
    reconcile.acquire()
    assert wall["t"] - began == pytest.approx(10.0)

    # without the shared window (or once it has ended) it waits a whole interval from the answer
    shared.unlink()
    late, _ = process()
    late.acquire()
    late.update({"X-RateLimit-Remaining": "0"})
    at = wall["t"]
    late.acquire()
    assert wall["t"] - at == pytest.approx(10.0)
