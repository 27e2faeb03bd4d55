"""The EXACT extractor against the EXACT sandbox: complete, inside every limit, resumable, delta-capable."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

import crm_sandbox as sandbox
from toolkit.audit import run_audit
from toolkit.sources.exact import ExactSource, ExtractionPaused, KeyBlocked
from toolkit.sources.exact.generator import generate

ROOT = Path(__file__).resolve().parents[2]
TABLES = {"users": "Users", "accounts": "Accounts", "contacts": "Contacts", "opportunities": "Opportunities",
          "tasks": "Tasks", "events": "Events", "communication_notes": "CommunicationNotes",
          "documents": "Documents", "document_attachments": "DocumentAttachments"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("exact-division"), patients=60, seed=7)


def _expected_counts(dataset: Path) -> dict[str, int]:
    return {t: len(json.loads((dataset / "dataset" / f"{e}.json").read_text())) for t, e in TABLES.items()}


def _source(sb, state, clock=None, **options) -> ExactSource:
    conn = ExactSource().connect_demo(sb)
    # pages only: attachment downloads (the demo's default) are tested on their own
    return ExactSource(state_dir=state, options={**conn.options, "download_attachments": "false", **options}, environ=conn.env,
                       **({"wall": clock} if clock else {}))


def _log(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _pages(log, division) -> list[str]:
    """Successful data calls, as path?query (the page identity)."""
    prefix = f"/api/v1/{division}/"
    return [f"{e['path']}?{e['query']}" for e in log if e["path"].startswith(prefix) and e["status"] == 200]


class Jump:
    """A client clock that can jump ahead together with the sandbox's."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.time() + self.offset


def _advance(sb, clock: Jump, seconds: float):
    httpx.post(f"{sb.url}/__sandbox/advance", params={"seconds": seconds}, headers={"X-Sandbox-Token": sb.token}).raise_for_status()
    clock.offset += seconds


@pytest.fixture(scope="module")
def extracted(dataset, tmp_path_factory):
    state = tmp_path_factory.mktemp("state")
    log = state.parent / "requests.jsonl"
    with sandbox.start("exact", seed=str(dataset), request_log=str(log)) as sb:
        src = _source(sb, state)
        snap = src.read(sb.url)
        return snap, _log(log), sb.options["division"], state, src.last_report


# --- a full extraction ------------------------------------------------------------------------------


def test_full_extraction_reads_every_record_once_and_never_429s(extracted, dataset):
    snap, log, division, state, report = extracted
    assert snap.counts() == _expected_counts(dataset)
    pages = _pages(log, division)
    assert len(pages) == len(set(pages)) == report.pages == report.calls
    assert not [e for e in log if e["status"] == 429]
    contacts = json.loads((dataset / "dataset" / "Contacts.json").read_text())
    row = snap.tables["contacts"].set_index("ID").loc[contacts[5]["ID"]]
    assert row["FirstName"] == contacts[5]["FirstName"] and len(row["BirthDate"]) == 10
    assert (state / "token.json").stat().st_mode & 0o077 == 0
    assert (state / "exact.sqlite").stat().st_mode & 0o077 == 0


def test_definitions_reach_the_rebuild_guide(extracted):
    snap = extracted[0]
    kinds = Counter(a["kind"] for a in snap.meta["automations"])
    assert kinds == {"workflow": 1, "reminder": 1, "recall_rule": 1, "email_template": 3}
    for a in snap.meta["automations"]:
        assert set(a) >= {"kind", "name", "trigger", "steps", "body", "channel"}
    labels = {f["field"]: f["label"] for f in snap.meta["free_fields"]}
    assert labels["FreeTextField_02"] == "Next recall (dd/mm/yyyy)"


def test_audit_finds_every_planted_defect_and_flags_nothing_clean(extracted, dataset):
    snap = extracted[0]
    truth = json.loads((dataset / "ground_truth.json").read_text())
    planted: dict[str, set] = {}
    for d in truth["defects"]:
        planted.setdefault(d["kind"], set()).add(d["id"])
    report = run_audit(snap, ROOT / "expectations")
    failing = {(o, r["expectation"], r["column"]): {f["id"] for f in r["failures"]}
               for o, rs in report.expectations.items() for r in rs if not r["success"]}
    expected = {
        ("contacts", "expect_column_values_to_not_be_null", "Email"): planted["missing_email"],
        ("contacts", "expect_column_values_to_match_regex", "Email"): planted["invalid_email"],
        ("contacts", "expect_column_values_to_match_regex", "Mobile"): planted["malformed_phone"],
        ("contacts", "expect_column_values_to_not_be_null", "LastName"): planted["missing_name"],
        ("contacts", "expect_column_values_to_match_regex", "FreeTextField_02"): planted["free_text_date_layout"],
        ("accounts", "expect_select_column_values_to_be_unique_within_record", None): planted["circular_parent"],
        ("opportunities", "expect_column_values_to_be_in_set", "OpportunityStageDescription"):
            planted["unmapped_stage"],
        ("opportunities", "expect_column_values_to_not_be_null", "Contact"): planted["opportunity_without_contact"],
        ("opportunities", "expect_column_values_to_match_regex", "Probability"): planted["probability_out_of_range"],
        ("document_attachments", "expect_column_values_to_match_regex", "FileSize"): planted["oversized_attachment"],
    }
    assert failing == expected
    objects = report.profile["objects"]
    assert {r["id"] for r in objects["accounts"]["broken_references"]} == planted["broken_reference"]
    assert {d["duplicate"] for d in objects["contacts"]["duplicates"]} == planted["duplicate_contact"]
    assert all(not o["broken_references"] for n, o in objects.items() if n != "accounts")
    assert {r["id"] for r in report.integrity.get("accounts", [])} == planted["circular_parent"]


# --- limits -----------------------------------------------------------------------------------------


def test_pacing_waits_for_the_minute_instead_of_getting_429(dataset, tmp_path):
    log = tmp_path / "log.jsonl"
    # 10 calls a minute, a minute lasting one real second: the extraction's 15 pages need 2 waits
    with sandbox.start("exact", seed=str(dataset), burst=10, time_scale=60, request_log=str(log)) as sb:
        src = _source(sb, tmp_path / "state", time_scale=60)
        snap = src.read(sb.url)
    assert snap.counts() == _expected_counts(dataset)
    assert not [e for e in _log(log) if e["status"] == 429]  # the sandbox refuses an 11th call in a window
    assert src.last_report.calls > 10 and src.last_report.waited > 0


def test_daily_cap_stops_cleanly_and_resumes_the_next_day(dataset, extracted, tmp_path):
    log, clock = tmp_path / "log.jsonl", Jump()
    daily = extracted[4].pages // 2 + 1  # the extraction needs two days
    with sandbox.start("exact", seed=str(dataset), daily=daily, request_log=str(log)) as sb:
        with pytest.raises(ExtractionPaused) as paused:
            _source(sb, tmp_path / "state", clock).read(sb.url)
        assert "daily call limit" in str(paused.value) and paused.value.resume_at
        with sqlite3.connect(tmp_path / "state" / "exact.sqlite") as db:
            assert db.execute("SELECT count(*) FROM pages").fetchone()[0] == daily
            assert db.execute("SELECT finished FROM runs").fetchall() == [(None,)]
        _advance(sb, clock, 86_400)
        snap = _source(sb, tmp_path / "state", clock).read(sb.url)
        division = sb.options["division"]
    assert snap.counts() == _expected_counts(dataset)
    entries = _log(log)
    pages = _pages(entries, division)
    assert len(pages) == len(set(pages))
    assert not [e for e in entries if e["status"] == 429]


def test_error_block_is_respected(dataset, tmp_path):
    log, clock = tmp_path / "log.jsonl", Jump()
    with sandbox.start("exact", seed=str(dataset), request_log=str(log)) as sb:
        division = sb.options["division"]
        for _ in range(11):  # someone else's broken script spends the key's error budget
            httpx.get(f"{sb.url}/api/v1/{division}/crm/Contacts", headers={"Accept": "application/json"})
        # the sandbox logs a request after answering it: wait for all eleven lines
        deadline = time.monotonic() + 10
        while (not log.is_file() or len(_log(log)) < 11) and time.monotonic() < deadline:
            time.sleep(0.05)
        before = len(_log(log))
        assert before >= 11
        with pytest.raises(KeyBlocked, match="blocked"):
            _source(sb, tmp_path / "state", clock).read(sb.url)
        tried = [e for e in _log(log)[before:] if e["path"].startswith(f"/api/v1/{division}/")]
        assert len(tried) == 1  # stopped at the first refusal: no retry, no further endpoint
        _advance(sb, clock, 3600)
        snap = _source(sb, tmp_path / "state", clock).read(sb.url)
    assert snap.counts() == _expected_counts(dataset)


def test_refresh_token_rotates_during_use_and_the_old_one_is_dead(dataset, tmp_path):
    clock = Jump()
    with sandbox.start("exact", seed=str(dataset)) as sb:
        _source(sb, tmp_path / "state", clock).read(sb.url)
        first = json.loads((tmp_path / "state" / "token.json").read_text())
        _advance(sb, clock, 600)  # the access token has expired
        _source(sb, tmp_path / "state", clock, refresh_after=0).read(sb.url)
        second = json.loads((tmp_path / "state" / "token.json").read_text())
        assert second["refresh_token"] != first["refresh_token"]
        _advance(sb, clock, 600)
        r = httpx.post(f"{sb.url}/api/oauth2/token", data={
            "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
            "client_id": sb.options["client_id"], "client_secret": sb.token})
        assert r.status_code == 401 and r.json()["error_description"] == "Old refresh token used."


# --- resuming and delta -------------------------------------------------------------------------------

CHILD = """
import json, os, signal, sys
from toolkit.sources.exact import ExactSource, _checkpoints
url, state, kill_after, options = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
commit, done = _checkpoints.Checkpoints.commit_page, []
def commit_then_die(self, *a, **k):
    commit(self, *a, **k)
    done.append(1)
    if len(done) == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush: as if the machine died
_checkpoints.Checkpoints.commit_page = commit_then_die
print(json.dumps(ExactSource(state_dir=state, options=options).read(url).counts()))
"""


def test_killed_extraction_resumes_without_fetching_any_page_twice(dataset, extracted, tmp_path):
    log = tmp_path / "log.jsonl"
    # kill right after the first page of the first endpoint that has two: mid-stream, not between streams
    clean = [p.split("?")[0] for p in _pages(extracted[1], extracted[2])]
    two = next(ep for ep in clean if clean.count(ep) > 1)
    kill_after = clean.index(two) + 1
    with sandbox.start("exact", seed=str(dataset), request_log=str(log)) as sb:
        conn = ExactSource().connect_demo(sb)
        env = {"PATH": "/usr/bin:/bin", **conn.env}

        def child(kill_after: int) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-c", CHILD, sb.url, str(tmp_path / "state"), str(kill_after),
                                   json.dumps(conn.options)], cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=120)

        killed = child(kill_after)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        with sqlite3.connect(tmp_path / "state" / "exact.sqlite") as db:
            stored = db.execute("SELECT url FROM pages").fetchall()
            assert len(stored) == kill_after and two in stored[-1][0]
            assert db.execute("SELECT next_url FROM streams WHERE next_url IS NOT NULL").fetchone()  # mid-stream
        finished = child(0)
        assert finished.returncode == 0, finished.stderr
        division = sb.options["division"]
    assert json.loads(finished.stdout.strip().splitlines()[-1]) == _expected_counts(dataset)
    pages = _pages(_log(log), division)
    assert len(pages) == len(set(pages)) == extracted[4].pages  # as many as an uninterrupted run
    assert sum(p.split("?")[0] == two for p in pages) == clean.count(two)


def test_delta_picks_up_changes_and_deletions(dataset, tmp_path):
    log = tmp_path / "log.jsonl"
    contacts = json.loads((dataset / "dataset" / "Contacts.json").read_text())
    opps = json.loads((dataset / "dataset" / "Opportunities.json").read_text())
    tasks = json.loads((dataset / "dataset" / "Tasks.json").read_text())
    changed, gone, opp = contacts[10]["ID"], contacts[20]["ID"], opps[3]["ID"]
    opp_gone, task_gone = opps[5]["ID"], tasks[2]["ID"]
    with sandbox.start("exact", seed=str(dataset), request_log=str(log)) as sb:
        first = _source(sb, tmp_path / "state", refresh_after=0).read(sb.url)
        calls_before = len(_log(log))
        ctl = f"{sb.url}/__sandbox/records"
        admin = {"X-Sandbox-Token": sb.token}
        httpx.post(f"{ctl}/Contacts", json={"ID": changed, "Email": "moved.house@example.org"}, headers=admin).raise_for_status()
        new = httpx.post(f"{ctl}/Contacts", json={"Account": contacts[0]["Account"], "FirstName": "Nia",
                                                   "LastName": "Newpatient"}, headers=admin).json()["ID"]
        httpx.delete(f"{ctl}/Contacts/{gone}", headers=admin).raise_for_status()
        # no sync endpoint covers these: only the ID sweep can see them go
        httpx.delete(f"{ctl}/Opportunities/{opp_gone}", headers=admin).raise_for_status()
        httpx.delete(f"{ctl}/Tasks/{task_gone}", headers=admin).raise_for_status()
        httpx.post(f"{ctl}/Opportunities", json={"ID": opp, "OpportunityStageDescription": "Completed",
                                                  "OpportunityStatus": 2}, headers=admin).raise_for_status()
        snap = _source(sb, tmp_path / "state", refresh_after=0).read(sb.url)
        delta_calls = [e for e in _log(log)[calls_before:]
                       if e["path"].startswith("/api/v1/") and "current" not in e["path"]]
    c = snap.tables["contacts"].set_index("ID")
    assert c.loc[changed, "Email"] == "moved.house@example.org"
    assert c.loc[new, "LastName"] == "Newpatient"
    assert gone not in c.index and gone in set(first.tables["contacts"]["ID"])
    assert sorted((d["object"], d["key"], d["found_by"]) for d in snap.meta["deleted"]) == sorted(
        [("contacts", gone, "sync/Deleted"), ("opportunities", opp_gone, "ID sweep"), ("tasks", task_gone, "ID sweep")])
    o = snap.tables["opportunities"].set_index("ID")
    assert opp_gone not in o.index and len(o) == len(first.tables["opportunities"]) - 1
    assert task_gone not in set(snap.tables["tasks"]["ID"])
    assert (o.loc[opp, "OpportunityStageDescription"], o.loc[opp, "OpportunityStatus"]) == ("Completed", "2")
    assert len(snap.tables["contacts"]) == len(first.tables["contacts"])  # one in, one out
    assert snap.meta["extraction"]["kind"] == "delta"
    # one call per stream, each asking only for what changed since the first run's watermark, then
    # the ID sweeps: 60 ids a call over every record each of the four objects still has
    sweeps = [e for e in delta_calls if parse_qs(e["query"]).get("$select") == ["ID"]]
    left = {t: len(snap.tables[t]) for t in ("opportunities", "tasks", "events", "communication_notes")}
    assert len(sweeps) == sum(max(1, -(-n // 60)) for n in left.values())
    assert len(delta_calls) - len(sweeps) == 13
    sync = next(e for e in delta_calls if e["path"].endswith("sync/CRM/Contacts"))
    assert f"Timestamp%20gt%20{first.meta['watermarks']['contacts']}L" in sync["query"]
    modified = next(e for e in delta_calls if e["path"].endswith("crm/Opportunities"))
    assert "Modified%20ge%20datetime" in modified["query"]


def test_attachments_download_once_each_owner_only_and_oversized_ones_are_listed(dataset, tmp_path):
    log = tmp_path / "log.jsonl"
    files = json.loads((dataset / "dataset" / "DocumentAttachments.json").read_text())
    big = {f["ID"] for f in files if f["FileSize"] > 25 * 1024 * 1024}
    with sandbox.start("exact", seed=str(dataset), request_log=str(log)) as sb:
        src = _source(sb, tmp_path / "state", download_attachments="true")
        src.read(sb.url)
        _source(sb, tmp_path / "state", download_attachments="true", refresh_after=0).read(sb.url)
    stored = sorted((tmp_path / "state" / "files").iterdir())
    assert len(stored) == len(files) - len(big) and big
    assert all(p.stat().st_mode & 0o077 == 0 and p.read_bytes().startswith(b"%PDF") for p in stored)
    downloads = [e for e in _log(log) if e["path"] == "/docs/SysAttachment.aspx"]
    assert len(downloads) == len(stored)  # each once, across two reads
    with sqlite3.connect(tmp_path / "state" / "exact.sqlite") as db:
        skipped = [k for (k,) in db.execute("SELECT k FROM settings WHERE v LIKE '%skipped%'")]
    assert {k.split(":", 1)[1] for k in skipped} == big
