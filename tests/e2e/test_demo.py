"""The demo end to end at small N: the destination, read from the sandbox's own state, holds
every patient that should migrate, with its custom fields and owner; every other record has a
reason in the ledger."""

import json
import re
import sqlite3

import pytest

from toolkit import demo
from toolkit.mapping import apply_transform


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    lines = []
    status = demo.run(patients=40, seed=21, out=out, echo=lines.append, request_log=str(out / "requests.jsonl"))
    return out, status, lines


def _fields_by_key(state):
    return {f["id"]: f["fieldKey"].split(".", 1)[1] for f in state["customFields"]}


def test_demo_accounts_for_every_record(run, capsys):
    out, status, _ = run
    assert status == 0
    summary = json.loads((out / "workspace" / "reports" / "reconcile.json").read_text())["summary"]
    assert summary["unaccounted"] == 0
    assert summary["source_records"] == sum(summary[k] for k in ("created", "updated", "merged", "excluded", "skipped",
                                                                 "errors"))
    for step in ("audit", "map", "migrate", "reconcile"):
        assert (out / "workspace" / "reports" / f"{step}.html").stat().st_size > 1000
        assert (out / "workspace" / "reports" / f"{step}.json").is_file()


def test_the_closing_line_and_every_report_give_the_same_counts(run):
    out, _, lines = run
    reports = out / "workspace" / "reports"
    closing = next(x for x in lines if x.startswith("demo: ") and "source records:" in x)
    said = {name: int(n.replace(",", "")) for n, name in re.findall(
        r"([\d,]+) (source records|created|updated|merged|excluded|skipped|errors|unaccounted)\b", closing)}
    assert set(said) == {"source records", "created", "updated", "merged", "excluded", "skipped", "errors",
                         "unaccounted"}
    said["source_records"] = said.pop("source records")
    reconciled = json.loads((reports / "reconcile.json").read_text())["summary"]
    summarized = json.loads((reports / "summary.json").read_text())["summary"]
    migrated = json.loads((reports / "migrate.json").read_text())["source_records"]
    for figures in (reconciled, summarized, migrated):
        assert {k: figures[k] for k in said} == said
    # per object, the summary's table and the reconciliation's agree too
    per_summary = {r["object"]: r for r in json.loads((reports / "summary.json").read_text())["per_object"]}
    for row in json.loads((reports / "reconcile.json").read_text())["objects"]:
        assert row["source"] == per_summary[row["object"]]["source"]
        for fate in ("created", "updated", "merged", "excluded", "skipped", "error"):
            assert (row.get(fate) or 0) == (per_summary[row["object"]].get(fate) or 0), (row["object"], fate)
    # a source record is not a CRM write: the run's writes are reported apart from the fates
    writes = json.loads((reports / "migrate.json").read_text())["counts"]
    assert writes["created"] >= migrated["created"]


def test_every_patient_to_migrate_is_a_contact_with_fields_and_owner(run):
    out, _, _ = run
    state = json.loads((out / "sandbox_state.json").read_text())
    truth = json.loads((out / "export" / "ground_truth.json").read_text())
    keys = _fields_by_key(state)
    contacts = {}
    for c in state["contacts"]:
        custom = {keys[f["id"]]: f["value"] for f in c.get("customFields", [])}
        contacts[custom["source_id"]] = (c, custom)

    import pandas as pd

    patients = pd.read_csv(out / "export" / "patients.csv", dtype=str, encoding="cp1252", keep_default_na=False)
    dupes = {d["duplicate"] for d in truth["duplicate_pairs"]}
    should = patients[(patients.Status != "Deceased") & ~patients.PatientID.isin(dupes)]
    assert set(should.PatientID) == set(contacts)
    user_ids = {u["id"] for u in state["users"]}
    for _, row in should.iterrows():
        contact, custom = contacts[row.PatientID]
        assert contact["assignedTo"] in user_ids
        assert contact["lastName"].lower() == row.LastName.strip().lower() or not row.LastName.strip()
        assert custom["chart_number"] == row.ChartNo
        assert custom["patient_status"] == row.Status
        if row.BirthDate:
            expected = apply_transform("date", pd.Series([row.BirthDate]))[0][0]
            assert contact["dateOfBirth"].startswith(expected)


def test_unmatched_provider_records_go_to_the_fallback_user(run):
    out, _, _ = run
    state = json.loads((out / "sandbox_state.json").read_text())
    truth = json.loads((out / "export" / "ground_truth.json").read_text())
    providers = pd_read(out / "export" / "providers.csv")
    unmatched = set(truth["unmatched_provider_ids"])
    office = next(u for u in state["users"] if u["email"].startswith("office@"))
    keys = _fields_by_key(state)
    for c in state["contacts"]:
        custom = {keys[f["id"]]: f["value"] for f in c.get("customFields", [])}
        email = providers.set_index("ProviderID").Email.get(custom.get("primary_provider"), "")
        if custom.get("primary_provider") in unmatched or not email:
            assert c["assignedTo"] == office["id"]
        else:  # the provider has a CRM user with the same email: that user owns the patient
            user = next(u for u in state["users"] if u["email"].lower() == email.strip().lower())
            assert c["assignedTo"] == user["id"]


def pd_read(path):
    import pandas as pd

    return pd.read_csv(path, dtype=str, encoding="cp1252", keep_default_na=False)


def test_every_record_not_created_has_a_reason_in_the_ledger(run):
    out, _, _ = run
    db = sqlite3.connect(out / "workspace" / "ledger.sqlite")
    rows = db.execute("SELECT op, source_object, source_key, reason FROM journal"
                      " WHERE op IN ('skip','error','merge','exclude')").fetchall()
    assert rows
    assert all(reason for _, _, _, reason in rows)
    # a duplicate patient is merged into the record it duplicates, and says which one
    assert "merge" in {op for op, *_ in rows}
    reasons = {(o, k): r for _, o, k, r in rows}
    truth = json.loads((out / "export" / "ground_truth.json").read_text())
    for pair in truth["duplicate_pairs"]:
        assert reasons[("patients", pair["duplicate"])].startswith(
            f"merged into patients {pair['original']}: duplicate of {pair['original']}")


def test_no_report_notebook_or_log_holds_the_token(run):
    out, _, _ = run
    from crm_sandbox import start

    with start("highlevel") as box:
        token = box.token
    for path in (out / "workspace").rglob("*"):
        if path.is_file() and path.suffix in {".html", ".json", ".ipynb", ".yaml", ".log"}:
            assert token not in path.read_text(encoding="utf-8", errors="replace"), path


def test_the_estimate_counts_the_calls_the_run_makes(run):
    """``estimate`` (written before anything moved) against every request the CRM account saw:
    the load, its provisioning and the reconciliation's read-back, within a tenth."""
    out, _status, _lines = run
    estimated = json.loads((out / "workspace" / "reports" / "estimate.json").read_text())["calls"]
    measured = len((out / "requests.jsonl").read_text().splitlines())
    assert abs(estimated - measured) <= 0.10 * measured, (estimated, measured)
