"""The audit's task threads: costliest first, and no two suites side by side while other work waits."""

from __future__ import annotations

import threading

import pytest

from toolkit.audit._audit import _Workers


def test_a_suite_is_passed_over_while_another_runs_and_other_work_waits():
    started: list[str] = []
    gates = {"suite A": threading.Event(), "busy": threading.Event()}
    running = {name: threading.Event() for name in gates}

    def task(name: str):
        started.append(name)
        if name in gates:
            running[name].set()
            assert gates[name].wait(5)
        return name

    pool = _Workers(2)
    try:
        a = pool.submit(task, "suite A", suite=True)
        busy = pool.submit(task, "busy")
        assert running["suite A"].wait(5) and running["busy"].wait(5)
        b = pool.submit(task, "suite B", suite=True)
        p = pool.submit(task, "profile P")
        gates["busy"].set()  # a thread comes free while suite A still runs
        assert p.result(5) == "profile P"  # taken ahead of suite B, submitted first
        gates["suite A"].set()
        assert (a.result(5), busy.result(5), b.result(5)) == ("suite A", "busy", "suite B")
    finally:
        for gate in gates.values():
            gate.set()
        pool.shutdown()
    assert started[2:] == ["profile P", "suite B"]


def test_with_only_suites_left_they_run_side_by_side_rather_than_idle():
    both = threading.Barrier(2, timeout=5)
    pool = _Workers(2)
    try:
        runs = [pool.submit(both.wait, suite=True) for _ in range(2)]
        assert sorted(r.result(5) for r in runs) == [0, 1]  # both reached the barrier together
    finally:
        pool.shutdown()


def test_an_error_reaches_the_caller_and_cancelled_tasks_never_start():
    gate = threading.Event()
    ran: list[int] = []
    pool = _Workers(1)
    try:
        first = pool.submit(lambda: (gate.wait(5), 1 / 0))
        later = [pool.submit(ran.append, i) for i in range(3)]
        gate.set()
        with pytest.raises(ZeroDivisionError):
            first.result(5)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    assert all(f.cancelled() or f.done() for f in later)
    assert len(ran) + sum(f.cancelled() for f in later) == 3
