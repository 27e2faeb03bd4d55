"""Against the HighLevel sandbox: a rollback after a full run leaves /__sandbox/state as it was; a
source that changes between runs (edits, new records, deletions) is brought over by a delta that
reports the deletions; rolling the delta back leaves the full run; a new delta then runs again."""

import json
import re

import pandas as pd
import pytest
from conftest import assert_rolled_back, by_source_id, make_workspace, rewrite_csv, start_box, without_stamps

from toolkit import Ledger
from toolkit import workflow as wf


def test_rollback_after_a_full_run_restores_the_state_before_it(export, tmp_path, monkeypatch):
    with start_box(export, burst=100_000) as box:
        ws = make_workspace(tmp_path / "ws", export, box, monkeypatch)
        before = box.state()
        out = wf.migrate(ws, progress=False)
        assert out.result.status == "finished" and out.result.counts["created"] > 50
        assert len(box.state()["contacts"]) > 15 and box.state()["customFields"]
        rb = wf.rollback(ws, progress=False)
        assert rb.status == "finished" and rb.of_run == out.result.run_id
        assert rb.counts["deleted"] == out.result.counts["created"]
        # HighLevel's API cannot delete a custom object's definition: the rollback leaves and lists
        # each schema the run made, and removes everything else
        left = assert_rolled_back(before, box.state())
        assert left and left == {x["id"] for x in rb.left if x["object"] == "custom_object_schema"}
        rec = wf.reconcile(ws)
        s = rec.summary()
        assert s["unaccounted"] == 0 and s["rolled_back"] == s["source_records"]


def _writes(outcome):
    return {k: v for k, v in outcome.result.counts.items() if k in {"created", "updated", "error"}}


def _pick_rows(export):
    pats = pd.read_csv(export / "patients.csv", dtype=str, encoding="cp1252", keep_default_na=False)
    truth = json.loads((export / "ground_truth.json").read_text())
    dupes = {d["duplicate"] for d in truth["duplicate_pairs"]} | {d["original"] for d in truth["duplicate_pairs"]}
    live = pats[(pats.Status != "Deceased") & ~pats.PatientID.isin(dupes)]

    def digits(s):
        return re.sub(r"\D", "", s)[-10:]

    phones = pd.concat([live[c].map(digits) for c in ("MobilePhone", "HomePhone", "WorkPhone")])
    shared_phones = set(phones[phones.duplicated(keep=False) & (phones != "")])
    emails = live.Email.str.lower()
    shared_emails = set(emails[emails.duplicated(keep=False) & (emails != "")])
    recalls = pd.read_csv(export / "recalls.csv", dtype=str, encoding="cp1252", keep_default_na=False)
    unique = [r.PatientID for r in live.itertuples()
              if r.Email.lower() not in shared_emails
              and not {digits(r.MobilePhone), digits(r.HomePhone), digits(r.WorkPhone)} & shared_phones]
    alone = [p for p in unique if p in set(recalls.PatientID)]
    gone, edited = alone[0], alone[1]
    quiet = next(r.PatientID for r in live.itertuples()
                 if r.PatientID not in (gone, edited) and r.Email and r.Email.lower() not in shared_emails)
    recall = recalls[recalls.PatientID.isin(set(live.PatientID) - {gone, edited})].iloc[0]
    return gone, (edited, quiet), recall.RecallID, recalls[recalls.PatientID == gone].RecallID.tolist()


def _change_source(export, gone, edited, recall_id):
    edited, quiet = edited

    def patients(rows):
        out = []
        for r in rows:
            if r["PatientID"] == gone:
                continue
            if r["PatientID"] == edited:
                r = {**r, "LastName": "Renamed-Smith", "ModifiedDate": "12/31/2030 10:00"}
            if r["PatientID"] == quiet:  # edited without a new modification time
                r = {**r, "LastName": "Quietly-Renamed"}
            out.append(r)
        new = {**rows[1], "PatientID": "P099999", "ChartNo": "99999", "FirstName": "Newcomer", "LastName": "Person",
               "BirthDate": "01/02/2003", "Email": "newcomer@example.org", "HomePhone": "", "WorkPhone": "",
               "MobilePhone": "(617) 432-9876", "Status": "Active", "GuarantorID": "P099999",
               "CreatedDate": "12/31/2030 11:00", "ModifiedDate": "12/31/2030 11:00"}
        return out + [new]

    def recalls(rows):
        out = [r if r["RecallID"] != recall_id else {**r, "Status": "Completed" if r["Status"] != "Completed" else "Missed"}
               for r in rows if r["PatientID"] != gone]
        return out + [{**rows[0], "RecallID": "R9999999", "PatientID": "P099999", "Status": "Due"}]

    rewrite_csv(export / "patients.csv", patients)
    rewrite_csv(export / "recalls.csv", recalls)
    # the practice system deletes the patient's other records with it
    for path in export.glob("*.csv"):
        if path.name not in {"patients.csv", "recalls.csv"} and "PatientID" in path.read_text(encoding="cp1252").split("\n")[0]:
            rewrite_csv(path, lambda rows: [r for r in rows if r["PatientID"] != gone])


@pytest.mark.e2e
def test_delta_brings_source_changes_over_rollback_undoes_it_and_it_runs_again(export, tmp_path, monkeypatch):
    gone, (edited, quiet), recall_id, gone_recalls = _pick_rows(export)
    with start_box(export, burst=100_000) as box:
        ws = make_workspace(tmp_path / "ws", export, box, monkeypatch)
        full = wf.migrate(ws, progress=False)
        assert full.result.status == "finished"
        after_full = box.state()

        _change_source(export, gone, (edited, quiet), recall_id)
        d = wf.delta(ws, progress=False)
        assert d.result.status == "finished"
        # the quiet edit is found by its content hash, beside the watermark, and so is a record
        # whose content changed through another table (a deleted patient's documents); nothing
        # is written that did not change
        with Ledger(ws.ledger_path) as ledger:
            updated = {k for (k,) in ledger._exec("SELECT source_key FROM journal WHERE run_id=? AND op='update'",
                                                   (d.result.run_id,))}
        assert {edited, quiet, recall_id} <= updated
        changed = d.result.counts["updated"]
        assert _writes(d) == {"created": 2, "updated": changed}, d.result.counts
        assert "skipped" not in d.result.counts  # nothing already accounted for is journaled again
        reported = {(x["object"], x["source_key"]) for x in d.deleted}
        assert {("patients", gone)} | {("recalls", r) for r in gone_recalls} <= reported
        assert {o for o, _ in reported} <= {o.source_object for o in wf.plan(ws)[1].objects}
        assert all(x["dest_id"] for x in d.deleted)
        methods = {o["object"]: o["method"] for o in d.objects}
        assert methods["patients"] == "modification time (ModifiedDate) and content hash"
        assert methods["recalls"] == "content hash"
        after_delta = box.state()

        # the destination now holds what a fresh full load of the changed source gives, plus the
        # records deleted in the source (reported, not propagated)
        with start_box(export, burst=100_000) as ref_box:
            ref_ws = make_workspace(tmp_path / "ref", export, ref_box, monkeypatch)
            assert wf.migrate(ref_ws, progress=False).result.status == "finished"
            reference = by_source_id(ref_box.state())
        monkeypatch.setenv("HIGHLEVEL_TOKEN", box.token)
        got = by_source_id(after_delta)
        assert got["contacts"].pop(gone)["lastName"]
        for _, key in reported:
            got["opportunities"].pop(key, None)
        assert got == reference
        assert got["contacts"][edited]["lastName"] == "Renamed-Smith"
        assert got["contacts"][quiet]["lastName"] == "Quietly-Renamed"
        assert got["contacts"]["P099999"]["firstName"] == "Newcomer"

        # rolling the delta back leaves the full run; the source's changes are then due again
        rb = wf.rollback(ws, progress=False)
        assert rb.of_run == d.result.run_id and rb.counts == {"deleted": 2, "restored": changed}
        assert without_stamps(box.state()) == without_stamps(after_full)
        again = wf.delta(ws, progress=False)
        assert _writes(again) == {"created": 2, "updated": changed}
        assert by_source_id(box.state()) == by_source_id(after_delta)
        assert wf.reconcile(ws).summary()["unaccounted"] == 0


def test_creating_a_missing_user_and_running_a_delta_reassigns_only_that_owners_records(export, tmp_path, monkeypatch):
    with start_box(export, burst=100_000) as box:
        ws = make_workspace(tmp_path / "ws", export, box, monkeypatch)
        full = wf.migrate(ws, progress=False)
        missing = {e: n for e, n in full.owners.unmatched.items() if e}
        assert missing, "the generated export has a provider with no CRM user"
        email, n = next(iter(missing.items()))
        fallback = full.owners.fallback.id

        def owners_now():
            state = box.state()
            return {r["id"]: r.get("assignedTo") for kind in ("contacts", "opportunities") for r in state[kind]}

        before = owners_now()
        # the practice creates the user in the CRM (the sandbox's users come from its seed)
        box._state.users.append(box._state._user({"email": email, "firstName": "New", "lastName": "User"}))
        new_id = box._state.users[-1]["id"]
        d = wf.delta(ws, progress=False)
        _, plan = wf.plan(ws)
        with Ledger(ws.ledger_path) as ledger:
            theirs = [ledger.id_map(op.source_object, op.target).get(pr.source_key) for op in plan.objects
                      for pr in op.records if pr.owner_email == email]
        theirs = [m[0] for m in theirs if m]
        assert 0 < len(theirs) <= n
        assert d.result.counts.get("updated") == len(theirs) and "created" not in d.result.counts
        after = owners_now()
        assert all(before[i] == fallback and after[i] == new_id for i in theirs if i in after)
        assert {i: o for i, o in after.items() if i not in theirs} == {i: o for i, o in before.items() if i not in theirs}
        assert wf.delta(ws, progress=False).result.counts.get("updated") is None  # nothing left to reassign


def _ids(state) -> set[str]:
    """Every record id anywhere in a sandbox's state."""
    out: set[str] = set()

    def walk(x):
        if isinstance(x, dict):
            if isinstance(x.get("id"), str):
                out.add(x["id"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(state)
    return out


@pytest.mark.e2e
def test_propagated_deletions_leave_the_crm_and_come_back_with_a_rollback(export, tmp_path, monkeypatch):
    gone, changed, recall_id, gone_recalls = _pick_rows(export)
    with start_box(export, burst=100_000) as box:
        ws = make_workspace(tmp_path / "ws", export, box, monkeypatch)
        assert wf.migrate(ws, progress=False).result.status == "finished"
        after_full = box.state()
        _change_source(export, gone, changed, recall_id)

        d = wf.delta(ws, progress=False, propagate_deletions=True)
        assert d.result.status == "finished"
        mine = {(x["object"], x["source_key"]): x for x in d.deleted}
        assert {("patients", gone)} | {("recalls", r) for r in gone_recalls} <= set(mine)
        assert all(x["action"].startswith(("deleted from the destination", "already gone")) for x in d.deleted)
        now = _ids(box.state())
        assert not {x["dest_id"] for x in d.deleted} & now  # none of them is left in the CRM
        assert gone not in by_source_id(box.state())["contacts"]
        assert d.result.counts.get("deleted", 0) + d.result.counts.get("already gone", 0) == len(d.deleted)
        with Ledger(ws.ledger_path) as ledger:
            ops = {k: op for op, k in ledger._exec("SELECT op, source_key FROM journal WHERE run_id=? AND state='done'"
                                                   " AND op='delete'", (d.result.run_id,))}
        assert gone in ops and d.result.counts.get("deleted", 0) >= 2, d.result.counts
        # nothing is left to report: the CRM no longer holds what the source deleted
        rec = wf.reconcile(ws)
        assert not len(rec.findings[rec.findings["kind"] == "deleted in the source"])

        # the rollback creates the deleted records again, linked to each other as before
        rb = wf.rollback(ws, progress=False)
        assert rb.status == "finished" and rb.counts.get("created again") == d.result.counts.get("deleted")
        back = by_source_id(box.state())
        assert back["contacts"][gone] == by_source_id(after_full)["contacts"][gone]
        assert {k: o for k, o in back["opportunities"].items()} == by_source_id(after_full)["opportunities"]
        # a delta without the flag reports them again and keeps them
        again = wf.delta(ws, progress=False)
        assert {("patients", gone)} <= {(x["object"], x["source_key"]) for x in again.deleted}
        assert all(x["action"].startswith("kept in the destination") for x in again.deleted)
