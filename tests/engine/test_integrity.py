"""Integrity under faults and misuse, against the HighLevel sandbox with the Dent-O-Soft template
(custom objects included): lost answers on every write, a second writer, an emptied ledger, a
killed run. Each ends with the destination compared to an uninterrupted run's, by Source ID:
no duplicate, no orphan, nothing lost."""

import os
import subprocess
import sys
import time

import pytest
from conftest import duplicates, holdings, make_workspace, orphans, start_box

from toolkit import Ledger
from toolkit import workflow as wf
from toolkit.file_lock import WorkspaceBusyError, WriterLock
from toolkit.load.ledger import LedgerMismatchError


@pytest.fixture(scope="module")
def reference(export_template, tmp_path_factory):
    """The destination after one uninterrupted load of the shared export."""
    mp = pytest.MonkeyPatch()
    with start_box(export_template, burst=100_000) as box:
        ws = make_workspace(tmp_path_factory.mktemp("ref") / "ws", export_template, box, mp)
        out = wf.migrate(ws, progress=False)
        state = box.state()
    mp.undo()
    assert out.result.status == "finished"
    assert not duplicates(state)
    return {"holdings": holdings(state), "counts": out.result.counts}


@pytest.mark.e2e
def test_lost_answers_on_every_write_end_as_the_uninterrupted_run(export, tmp_path, monkeypatch, reference):
    # creates, relations, updates and field definitions all lose their answer now and then
    with start_box(export, burst=100_000, faults="lost=0.08,5xx=0.02") as box:
        ws = make_workspace(tmp_path / "ws", export, box, monkeypatch, engine={"workers": 3, "max_attempts": 10})
        out = wf.migrate(ws, progress=False)
        assert out.result.status == "finished", out.result.message
        state = box.state()
    assert not duplicates(state)
    assert holdings(state) == reference["holdings"]
    assert orphans(state, ws.ledger_path) == []
    assert out.result.counts == reference["counts"]


@pytest.mark.e2e
def test_a_second_writer_is_refused_and_names_the_first(export, tmp_path, monkeypatch, reference):
    with start_box(export, burst=100_000, faults="latency=15ms") as box:
        ws = make_workspace(tmp_path / "ws", export, box, monkeypatch, engine={"workers": 1})
        env = {**os.environ, "HIGHLEVEL_TOKEN": box.token}
        first = subprocess.Popen([sys.executable, "-m", "toolkit.cli", "migrate", str(ws.root)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lock = WriterLock(ws.root, "probe")
        deadline = time.monotonic() + 120
        while lock.holder() is None and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        holder = lock.holder()
        assert holder is not None, "the first migrate never took the workspace's writer lock"
        with pytest.raises(WorkspaceBusyError) as busy:
            wf.migrate(ws, progress=False)
        assert "in use by `migrate`" in str(busy.value) and str(holder["pid"]) in str(busy.value)
        out, err = first.communicate(timeout=300)
        assert first.returncode == 3, err  # finished; the export's planted broken references are record errors
        state = box.state()
    assert not duplicates(state)
    assert holdings(state) == reference["holdings"]
    assert lock.holder() is None  # released with the run


def test_a_lock_left_by_a_dead_process_is_recognised(tmp_path):
    (tmp_path / WriterLock.NOTE).write_text('{"command": "migrate", "pid": 999999, "host": "h", "since": "x"}')
    with WriterLock(tmp_path, "delta") as lock:
        assert lock.stale and lock.stale["pid"] == 999999
        assert lock.holder()["command"] == "delta" and lock.holder()["pid"] == os.getpid()
        with pytest.raises(WorkspaceBusyError, match="in use by `delta`"):
            WriterLock(tmp_path, "migrate").acquire()
    assert not (tmp_path / WriterLock.NOTE).exists()


@pytest.mark.e2e
def test_an_emptied_ledger_refuses_to_load_until_adopt_rebuilds_it(export, tmp_path, monkeypatch, reference):
    with start_box(export, burst=100_000) as box:
        before = holdings(box.state())
        ws = make_workspace(tmp_path / "ws", export, box, monkeypatch)
        first = wf.migrate(ws, progress=False)
        loaded = box.state()
        with Ledger(ws.ledger_path) as ledger:
            # availability rules carry no Source ID: they are written again, and adding a rule
            # a schedule already has changes nothing
            before_loss = ledger.mapped()
            known = len([m for m in before_loss if m[2] != "availability"])
        for side in ("-wal", "-shm"):
            ws.ledger_path.with_name(ws.ledger_path.name + side).unlink(missing_ok=True)
        ws.ledger_path.write_bytes(b"")  # : > WS/ledger.sqlite
        with pytest.raises(LedgerMismatchError, match="crm-migrate adopt"):
            wf.migrate(ws, progress=False)
        assert box.state() == loaded  # nothing written
        adopted = wf.adopt(ws)
        assert adopted.adopted == known and not adopted.duplicates
        again = wf.migrate(ws, progress=False)
        assert again.result.status == "finished"
        assert box.state()["schedules"] == loaded["schedules"]
        assert again.result.counts.get("created", 0) == sum(m[2] == "availability" for m in before_loss)
        state = box.state()
        assert not duplicates(state) and holdings(state) == reference["holdings"]
        rb = wf.rollback(ws, since=adopted.run_id)
        assert rb.status == "finished", rb.message
        assert {k: v for k, v in holdings(box.state()).items() if v} == {k: v for k, v in before.items() if v}
    assert first.result.status == "finished"


def test_a_ledger_written_for_another_account_is_refused(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.bind(workspace="w1", account="highlevel:a/1")
        ledger.bind(workspace="w1", account="highlevel:a/1")
        with pytest.raises(LedgerMismatchError, match="account"):
            ledger.bind(workspace="w1", account="highlevel:b/2")
        with pytest.raises(LedgerMismatchError, match="workspace"):
            ledger.bind(workspace="w2", account="highlevel:a/1")


def test_runs_a_killed_process_left_running_are_closed_by_the_next_writer(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        dead = ledger.start_run("full")
        assert ledger.close_dead_runs(by="migrate") == [dead]
        run = ledger.run(dead)
        assert run["status"] == "interrupted" and "killed" in run["info"]["message"]
