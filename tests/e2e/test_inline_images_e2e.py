"""Pictures inside clinical notes, end to end at small N against the HighLevel sandbox: every
picture the generator planted arrives as an uploaded file on its patient's contact, byte for byte;
the note's text carries a marker where it was; the broken one is reported with the note and the
reason; a second run adds nothing; a rollback removes the uploads."""

import hashlib
import json
import sqlite3

import httpx
import pytest
import yaml

import crm_sandbox as sandbox
from toolkit import init_workspace
from toolkit import workflow as wf
from toolkit.demo import fallback_user
from toolkit.sources import registry
from toolkit.workflow import prepare_mapping

TOKEN_ENV = "HIGHLEVEL_TOKEN"
SOURCE_LINE = "Source ID: "


def _notes_as_notes(ws) -> None:
    """The workspace's mapping, cut to patients and clinical notes loaded as HighLevel notes."""
    data = yaml.safe_load(ws.mapping_path.read_text(encoding="utf-8"))
    patients = next(o for o in data["objects"] if o["source"] == "patients" and o["target"] == "contact")
    notes = {"source": "clinical_notes", "target": "note", "key": "NoteID",
             "links": {"contactId": {"column": "PatientID", "object": "patients"}},
             "fields": [{"source": "NoteText", "target": "body", "status": "confirmed", "confidence": 1.0,
                         "reason": "the clinical note"}],
             "values": {}}
    data["objects"] = [patients, notes]
    ws.mapping_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inline")
    export = registry.get("dent-o-soft")().generate(tmp / "export", patients=30, seed=11)
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    mp = pytest.MonkeyPatch()
    with sandbox.start("highlevel", seed={"users": users}, burst=100_000) as box:
        mp.setenv(TOKEN_ENV, box.token)
        ws = init_workspace(tmp / "ws", source="dent-o-soft", export=export, destination="highlevel", base_url=box.url,
                            token_env=TOKEN_ENV, options=box.options, fallback_owner=fallback_user(users))
        prepare_mapping(ws, accept_proposals=True)
        _notes_as_notes(ws)
        out = wf.migrate(ws, progress=False)
        assert out.result.status == "finished", out.result.message
        state = box.state()
        media = {m["id"]: httpx.get(m["url"]).content for m in state["media"]}
        again = wf.migrate(ws, progress=False)
        after_again = box.state()
        wf.rollback(ws, progress=False)  # the second run, which wrote nothing
        rb = wf.rollback(ws, progress=False)
        yield {"ws": ws, "export": export, "truth": json.loads((export / "ground_truth.json").read_text()),
               "state": state, "media": media, "first": out.result, "again": again.result,
               "after_again": after_again, "rollback": rb, "after_rollback": box.state()}
    mp.undo()


def _contacts_by_source(state) -> dict[str, str]:
    key = next(f["id"] for f in state["customFields"] if f["fieldKey"] == "contact.source_id")
    return {next(c["value"] for c in contact["customFields"] if c["id"] == key): contact["id"]
            for contact in state["contacts"]}


def _note_of(state, source_id: str) -> dict:
    return next(n for n in state["notes"] if n["body"].endswith(f"{SOURCE_LINE}{source_id}"))


def test_the_generator_planted_both_markups_and_a_broken_picture(run):
    planted = run["truth"]["inline_images"]["notes"]
    assert {(p["markup"], p["type"]) for p in planted if not p["broken"]} == {("html", "png"), ("rtf", "jpeg")}
    assert sum(1 for p in planted if p["broken"]) == 1


def test_each_picture_is_an_uploaded_file_on_its_patients_contact(run):
    state, contacts = run["state"], _contacts_by_source(run["state"])
    by_hash = {hashlib.sha256(data).hexdigest(): mid for mid, data in run["media"].items()}
    for p in (p for p in run["truth"]["inline_images"]["notes"] if not p["broken"]):
        key = f"{p['note_id']}#image-1"
        assert p["sha256"] in by_hash, f"{key} was not uploaded"
        media = next(m for m in state["media"] if m["id"] == by_hash[p["sha256"]])
        ext = "png" if p["type"] == "png" else "jpg"
        # the library name carries the Source ID first (traceable, and findable after a lost answer)
        assert media["name"] == f"{p['note_id']}#image-1_{p['note_id']}-1.{ext}"
        attachment = _note_of(state, key)  # HighLevel attaches a file to a contact through a note
        assert attachment["contactId"] == contacts[p["patient_id"]]
        assert media["url"] in attachment["body"]


def test_the_note_text_carries_a_marker_where_the_picture_was(run):
    for p in run["truth"]["inline_images"]["notes"]:
        body = _note_of(run["state"], p["note_id"])["body"]
        assert "base64," not in body and "jpegblip" not in body
        assert "Reviewed with patient." in body or p["broken"]  # the text around it stays
        if p["broken"]:
            assert "[image 1: not attached, its base64 data does not decode (cut short" in body
        else:
            assert f"[image 1: {p['note_id']}-1.{'png' if p['type'] == 'png' else 'jpg'} attached]" in body
        assert _note_of(run["state"], p["note_id"])["contactId"] == _contacts_by_source(run["state"])[p["patient_id"]]


def test_the_broken_picture_is_reported_with_its_note_and_reason(run):
    broken = next(p for p in run["truth"]["inline_images"]["notes"] if p["broken"])
    db = sqlite3.connect(run["ws"].ledger_path)
    rows = db.execute("SELECT op, reason FROM journal WHERE run_id = ? AND source_key = ?",
                      (run["first"].run_id, f"{broken['note_id']}#image-1")).fetchall()
    assert rows and rows[0][0] == "skip"
    assert f"note {broken['note_id']}" in rows[0][1] and "base64" in rows[0][1]
    # the note itself loads, its outcome naming the picture it lost
    reasons = [r for (r,) in db.execute("SELECT reason FROM journal WHERE run_id = ? AND source_key = ? AND op = 'create'"
                                        " AND state = 'done'", (run["first"].run_id, broken["note_id"]))]
    assert reasons and "inline image 1" in reasons[0]


def test_a_second_run_uploads_nothing_new_and_a_rollback_removes_the_uploads(run):
    assert run["again"].counts.get("created", 0) == 0 and run["again"].counts.get("updated", 0) == 0
    assert len(run["after_again"]["media"]) == len(run["state"]["media"])
    assert run["rollback"].status == "finished" and run["rollback"].of_run == run["first"].run_id
    assert run["after_rollback"]["media"] == [] and run["after_rollback"]["notes"] == []
