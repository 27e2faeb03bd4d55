"""The estimate: calls, minimum load time and calendar days from counts and each destination's
quota, and the complexity grade by its documented rule."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from toolkit import ConfigError, Record, Snapshot
from toolkit.mapping import ObjectPlan, Plan, PlannedRecord
from toolkit.reports.load_estimate import estimate_plan, grade, human_duration
from toolkit.reports.quotas import quota_for


def _snapshot(**counts) -> Snapshot:
    return Snapshot(source="test", tables={o: pd.DataFrame({"id": range(n)}) for o, n in counts.items()}, schema={})


def _plan(target: str, n: int, skipped: int = 0, unrouted: dict[str, int] | None = None) -> Plan:
    records = [PlannedRecord("patients", f"P{i}", Record(object=target), skip_reason="rule" if i < skipped else None)
               for i in range(n)]
    left = [(o, f"K{i}", "no route") for o, k in (unrouted or {}).items() for i in range(k)]
    return Plan("test", "x", [ObjectPlan("patients", target, records)], left, [], {})


def test_highlevel_is_paced_at_100_per_10_s_and_capped_at_200000_a_day():
    est = estimate_plan(None, _snapshot(patients=450_000), None, quota_for("highlevel"))
    writes, setup, verify = 450_000, 3, 4_500  # users + pipelines + one field list; 100 a page read back
    assert est.calls == writes + setup + verify
    assert est.load_seconds == pytest.approx(est.calls / 10.0)
    assert est.calendar_days == math.ceil(est.calls / 200_000) == 3
    assert human_duration(est.load_seconds) == "12 h 38 min"
    # no mapping: every record counted, clarity scored high; 3 days -> 2; 450k records -> 3
    assert [f["score"] for f in est.factors] == [1, 3, 2, 3]
    assert (est.grade, est.grade_word) == ("C", "involved")


def test_pipedrive_counts_tokens_per_plan_and_seats():
    quota = quota_for("pipedrive", {"plan": "premium", "seats": 2})
    est = estimate_plan(_plan("person", 100_000, skipped=1_000), _snapshot(patients=100_000), None, quota)
    assert quota.daily == 30_000 * 5 * 2 and quota.rate == 50.0
    assert est.objects[0]["write calls"] == 99_000 and est.objects[0]["tokens"] == 99_000 * 5
    assert est.units == 99_000 * 5 + (est.setup_calls + est.verify_calls) * 10
    assert est.calendar_days == math.ceil(est.units / 300_000) == 2
    assert quota_for("pipedrive").assumptions  # plan and seats assumed, and said so


def test_freshsales_bulk_upserts_100_and_is_bound_by_the_hourly_limit():
    quota = quota_for("freshsales", {"plan": "estate"})
    est = estimate_plan(_plan("contact", 10_000), _snapshot(patients=10_000), None, quota)
    # 100 bulk calls, each followed by its job's status and the search for the new ids
    assert est.objects[0]["write calls"] == 300
    # leads are contacts to Freshsales: the same bulk endpoint, not one call each
    leads = estimate_plan(_plan("lead", 250), _snapshot(patients=250), None, quota)
    assert leads.objects[0]["write calls"] == 3 * 3
    assert quota.rate == pytest.approx(2_000 / 3600)
    assert est.load_seconds == pytest.approx(est.calls / (2_000 / 3600))


def test_records_no_route_takes_make_object_compatibility_high():
    est = estimate_plan(_plan("contact", 100, unrouted={"ledger": 500}), _snapshot(patients=100, ledger=500), None,
                        quota_for("highlevel"))
    compat = est.factors[0]
    assert compat["score"] == 3 and "ledger (500)" in compat["why"]
    assert est.unrouted == {"ledger": 500}


@pytest.mark.parametrize("scores, letter", [([1, 1, 1, 1], "A"), ([1, 1, 2, 2], "B"), ([2, 2, 2, 2], "C"),
                                            ([3, 3, 2, 2], "D"), ([3, 3, 3, 3], "D")])
def test_grade_follows_the_sum_of_factor_scores(scores, letter):
    assert grade(scores)[0] == letter


def test_unknown_destination_or_plan_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown destination 'zoho'"):
        quota_for("zoho")
    # the plans the Freshsales pacer accepts are the plans the estimate knows: one table
    from toolkit.destinations.freshsales._pacing import PLAN_HOURLY

    assert {p: quota_for("freshsales", {"plan": p}).hourly for p in PLAN_HOURLY} == PLAN_HOURLY
    with pytest.raises(ConfigError, match="unknown Pipedrive plan 'gold'"):
        quota_for("pipedrive", {"plan": "gold"})


def test_cli_estimate_needs_no_token_and_no_network(tmp_path):
    from toolkit.sources import registry

    export = registry.get("dent-o-soft")().generate(tmp_path / "export", patients=20, seed=2)
    ws = tmp_path / "ws"
    cli = [sys.executable, "-m", "toolkit.cli"]
    subprocess.run(cli + ["init", str(ws), "--source", "dent-o-soft", "--export", str(export), "--destination",
                          "highlevel", "--base-url", "http://127.0.0.1:9", "--location-id", "loc",
                          "--token-env", "UNSET_TOKEN_FOR_ESTIMATE"], check=True, capture_output=True)
    done = subprocess.run(cli + ["estimate", str(ws)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "estimate:" in done.stdout and "calendar day" in done.stdout and "complexity" in done.stdout
    figures = json.loads((ws / "reports" / "estimate.json").read_text(encoding="utf-8"))
    assert figures["calls"] == sum(o["write calls"] for o in figures["objects"]) + figures["setup_calls"] + \
        figures["verify_calls"]
    assert (ws / "reports" / "estimate.html").stat().st_size > 5_000


def test_a_highlevel_contact_linked_to_its_business_costs_a_second_call():
    # the business is set by POST /contacts/bulk/business after the create (research highlevel.md §4)
    records = [PlannedRecord("patients", f"P{i}", Record(object="contact"),
                             links={"businessId": ("practices", "PR1")} if i < 30 else {}) for i in range(100)]
    plan = Plan("test", "x", [ObjectPlan("patients", "contact", records)], [], [], {})
    est = estimate_plan(plan, _snapshot(patients=100), None, quota_for("highlevel"))
    assert est.objects[0]["write calls"] == 100 + 30


def test_freshsales_counts_the_stage_reads_of_every_pipeline_the_plan_uses():
    # each deal pipeline's stages are listed one pipeline at a time, when the stage map is made
    # and again before the load (research freshsales.md §3 selectors)
    quota = quota_for("freshsales", {"plan": "estate"})
    deals = [PlannedRecord("cases", f"C{i}", Record(object="deal")) for i in range(10)]
    one = Plan("test", "x", [ObjectPlan("cases", "deal", deals)], [], [], {"Ortho": {"Consult"}})
    three = Plan("test", "x", [ObjectPlan("cases", "deal", deals)], [], [],
                 {"Ortho": {"Consult"}, "Perio": {"Maintenance"}, "Restorative": {"Accepted"}})
    snap = _snapshot(cases=10)
    assert estimate_plan(three, snap, None, quota).setup_calls - estimate_plan(one, snap, None, quota).setup_calls == 2 * 2
