"""The audit finds every defect a generator planted, and flags nothing that is clean.

For each file source: generate a small export, read it the way the audit notebook does
(``read_for_audit``), run the GX suites and the profile, and compare every flagged cell
(file, line, column) with ``ground_truth.json``. Defects only the destination can show (a provider
whose e-mail matches no CRM user) are checked through owner resolution instead.
"""

from __future__ import annotations

import json

import pytest

from toolkit import _paths
from toolkit.audit import run_audit
from toolkit.destinations import User
from toolkit.load.owner_resolution import resolve_owners
from toolkit.sources import registry

SOURCES = ["dent-o-soft", "practice-by-numbers", "dental-exec", "generic-csv"]


@pytest.fixture(scope="module", params=SOURCES)
def audited(request, tmp_path_factory):
    name = request.param
    src = registry.get(name)()
    out = src.generate(tmp_path_factory.mktemp(name) / "export", patients=150, seed=97)
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    snap = src.read_for_audit(out)
    return name, out, truth, snap, run_audit(snap, _paths.EXPECTATIONS)


def _cells(report) -> set[tuple[str, int, str]]:
    f = report.findings()
    return {(a, int(b), c) for a, b, c in zip(f.file, f.line, f.column)}


def test_every_audit_defect_is_found(audited):
    _name, _out, truth, _snap, report = audited
    planted = {(d["file"], d["row"], d["column"]): d for d in truth["defects"] if "detected_by" not in d}
    assert planted, "the generator planted nothing"
    missed = [d for cell, d in planted.items() if cell not in _cells(report)]
    assert missed == []


def test_nothing_clean_is_flagged(audited):
    _name, _out, truth, _snap, report = audited
    planted = {(d["file"], d["row"], d["column"]) for d in truth["defects"]}
    f = report.findings()
    extra = f[[(a, int(b), c) not in planted for a, b, c in zip(f.file, f.line, f.column)]]
    assert extra.empty, extra.head(20).to_string()


def test_every_planted_kind_shows_in_the_findings(audited):
    name, _out, truth, _snap, report = audited
    kinds = {d["kind"] for d in truth["defects"] if "detected_by" not in d}
    assert len(kinds) >= 5, f"{name} plants too few kinds of defect: {kinds}"
    assert report.summary()["read_errors"] == 0 and report.summary()["schema_drift"] == 0


def test_each_object_has_a_suite_that_ran(audited):
    name, _out, _truth, snap, report = audited
    assert set(report.expectations) == set(snap.tables), f"{name}: objects without a suite"
    assert all(r for r in report.expectations.values())


def test_unmatched_users_are_found_by_owner_resolution(audited):
    name, out, truth, snap, _report = audited
    later = [d for d in truth["defects"] if d.get("detected_by") == "owner_resolution"]
    if name == "generic-csv":
        assert later == []
        return
    assert later
    users = json.loads((out / "crm_users.json").read_text(encoding="utf-8"))
    dest = [User(id=str(i), email=u["email"], name=u["firstName"]) for i, u in enumerate(users)]
    emails = {d["value"]: 1 for d in later}
    res = resolve_owners(emails, dest)
    assert set(res.unmatched) == {e.lower() for e in emails}


def test_side_by_side_audit_writes_the_same_report_as_one_at_a_time(audited):
    """Objects are profiled and validated in threads; the report must not depend on it."""
    name, _out, _truth, snap, report = audited
    alone = run_audit(snap, _paths.EXPECTATIONS, workers=1)
    many = run_audit(snap, _paths.EXPECTATIONS, workers=4)
    assert json.dumps(alone.to_dict(), sort_keys=True, default=str) == \
        json.dumps(report.to_dict(), sort_keys=True, default=str) == \
        json.dumps(many.to_dict(), sort_keys=True, default=str)
    assert list(alone.expectations) == list(report.expectations)  # objects in the snapshot's order
    assert list(alone.profile["objects"]) == list(report.profile["objects"]) == list(snap.tables)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_step_stops_the_audit_with_its_error(audited, monkeypatch, workers):
    """An error in one object's profile reaches the caller as itself, and the tasks not yet
    started are not run."""
    from toolkit.audit import _audit

    _name, _out, _truth, snap, _report = audited
    started = []
    real = _audit.profile_object

    def failing(snapshot, obj, *args, **kwargs):
        started.append(obj)
        if len(started) == 1:
            raise RuntimeError(f"broken profile of {obj}")
        return real(snapshot, obj, *args, **kwargs)

    monkeypatch.setattr(_audit, "profile_object", failing)
    with pytest.raises(RuntimeError, match="broken profile"):
        run_audit(snap, _paths.EXPECTATIONS, workers=workers)
    if workers == 1:  # in the caller's thread nothing runs after the failing task
        assert len(started) == 1
