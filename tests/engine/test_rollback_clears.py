"""Against the HighLevel sandbox: rolling back an update that filled an empty custom field and
added a tag clears both again, so the destination is as it was before the run.

HighLevel refuses ``field_value: null`` (422) and an update's ``tags`` cannot say "no tags"; the
adapter clears with the type's empty form and removes tags through ``DELETE /contacts/{id}/tags``.
"""

from __future__ import annotations

import csv

from conftest import make_workspace, rewrite_csv, start_box, without_stamps

from toolkit import workflow as wf


def _patients(export):
    with open(export / "patients.csv", encoding="cp1252", newline="") as fh:
        return list(csv.DictReader(fh))


def _contact_of(state: dict, patient_id: str) -> dict:
    sid = next(f["id"] for f in state["customFields"] if f["fieldKey"] == "contact.source_id")
    return next(c for c in state["contacts"] if any(cf["id"] == sid and cf["value"] == patient_id
                                                     for cf in c["customFields"]))


def test_rollback_of_an_update_that_filled_a_field_and_added_a_tag_clears_them(export, tmp_path, monkeypatch):
    with start_box(export, burst=100_000) as box:
        ws = make_workspace(tmp_path / "ws", export, box, monkeypatch)
        full = wf.migrate(ws, progress=False)
        assert full.result.status == "finished"
        before = box.state()

        # a migrated patient with no referral source: its custom field is empty and it has no
        # referral tag; the practice then records one (and the export's modification time moves)
        ids_in_crm = set()
        for p in _patients(export):
            try:
                _contact_of(before, p["PatientID"])
            except StopIteration:
                continue
            ids_in_crm.add(p["PatientID"])
        pid = next(p["PatientID"] for p in _patients(export)
                   if p["PatientID"] in ids_in_crm and not p["ReferralSourceID"] and not p["SecondaryReferralSourceID"])
        old = _contact_of(before, pid)
        field_id = next(f["id"] for f in before["customFields"] if f["fieldKey"] == "contact.referral_source")
        assert field_id not in {cf["id"] for cf in old["customFields"]}

        def refer(rows):
            return [{**r, "ReferralSourceID": "RS05", "ModifiedDate": "12/31/2030 10:00"} if r["PatientID"] == pid else r
                    for r in rows]

        rewrite_csv(export / "patients.csv", refer)
        d = wf.delta(ws, progress=False)
        assert d.result.status == "finished" and d.result.counts.get("updated") == 1, d.result.counts
        new = _contact_of(box.state(), pid)
        assert {cf["id"]: cf["value"] for cf in new["customFields"]}[field_id] == "Practice Website"
        assert "Referral: Practice Website" in new["tags"] and "Referral: Practice Website" not in old["tags"]

        rb = wf.rollback(ws, progress=False)
        assert rb.status == "finished", (rb.message, rb.errors)
        assert rb.counts == {"restored": 1}
        # only the server's own timestamps (dateUpdated) differ: a restore cannot give them back
        assert without_stamps(box.state()) == without_stamps(before)
        back = _contact_of(box.state(), pid)
        assert back["customFields"] == old["customFields"] and back["tags"] == old["tags"]
