"""The synthetic Dent-O-Soft export: deterministic, realistic, and honest about its defects.

Every check of the ground truth reads the files with the standard library's csv module, not with
our reader, so a reader bug cannot hide a generator bug (or vice versa).
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from toolkit.sources.dent_o_soft import DentOSoftSource, generate, load_layout

SEED = 20240611
PATIENTS = 200


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("dos") / "export", patients=PATIENTS, seed=SEED)


@pytest.fixture(scope="module")
def truth(export) -> dict:
    return json.loads((export / "ground_truth.json").read_text(encoding="utf-8"))


def _records(path: Path) -> list[tuple[int, dict]]:
    """(start line, record) for every data record, counting lines as an editor does."""
    with open(path, encoding="cp1252", newline="") as fh:
        reader = csv.DictReader(fh)
        out, line = [], reader.line_num
        for rec in reader:
            out.append((line + 1, rec))
            line = reader.line_num
        return out


@pytest.fixture(scope="module")
def files(export) -> dict[str, dict[int, dict]]:
    layout = load_layout()
    return {o.schema.file: dict(_records(export / o.schema.file)) for o in layout.objects.values()}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path, export):
    again = generate(tmp_path / "again", patients=PATIENTS, seed=SEED)
    other = generate(tmp_path / "other", patients=PATIENTS, seed=SEED + 1)
    assert _digest(again) == _digest(export)
    assert _digest(other) != _digest(export)


def test_files_are_cp1252_crlf_with_declared_headers(export):
    for obj in load_layout().objects.values():
        raw = (export / obj.schema.file).read_bytes()
        assert raw.endswith(b"\r\n")
        assert raw.count(b"\n") == raw.count(b"\r\n"), obj.schema.file
        header = raw.split(b"\r\n", 1)[0].decode("cp1252").split(",")
        assert tuple(header) == obj.columns
    raw = (export / "patients.csv").read_bytes()
    assert b"Jos\xe9" in raw and b"O\x92Brien" in raw and b"M\xfcller" in raw and b"Zo\xeb" in raw


def test_every_planted_defect_is_where_the_ground_truth_says(truth, files):
    layout = load_layout()
    keys = {o.schema.file: o.schema.key for o in layout.objects.values()}
    assert truth["defects"]
    for d in truth["defects"]:
        rec = files[d["file"]].get(d["row"])
        assert rec is not None, f"no record starts on line {d['row']} of {d['file']}: {d}"
        assert rec[keys[d["file"]]] == d["id"], d
        assert rec[d["column"]] == d["value"], d


def test_multiline_notes_shift_line_numbers(truth, files, export):
    notes = files["clinical_notes.csv"]
    assert any("\n" in r["NoteText"] and "," in r["NoteText"] and '"' in r["NoteText"]
               for r in notes.values())
    # Lines numbers run ahead of record numbers once a note spans several lines.
    assert max(notes) > len(notes) + 1
    assert truth["counts"]["clinical_notes.csv"] == len(notes)


def test_defect_rates_match_the_documented_constants(truth):
    n = truth["patients"]
    kinds = truth["defect_counts"]
    rates = truth["defect_rates"]
    assert kinds["missing_email"] == round(rates["missing_email"] * n)
    assert kinds["duplicate_patient"] == round(rates["duplicate_patient"] * n)
    assert kinds["malformed_phone"] == round(rates["malformed_phone"] * n)
    assert kinds["invalid_email"] == round(rates["invalid_email"] * n)
    assert kinds["missing_name"] >= 1
    assert kinds["mixed_date_format"] >= round(rates["mixed_date_format"] * n)
    ins = truth["counts"]["insurance.csv"]
    assert kinds["carrier_variant"] == pytest.approx(rates["carrier_variant"] * ins, abs=1)
    refs = [d for d in truth["defects"] if d["kind"] == "broken_reference"]
    assert sorted(d["file"] for d in refs) == ["appointments.csv", "appointments.csv", "claims.csv"]


def test_broken_references_point_nowhere(truth, files):
    patient_ids = {r["PatientID"] for r in files["patients.csv"].values()}
    insurance_ids = {r["InsuranceID"] for r in files["insurance.csv"].values()}
    missing_p = {r["PatientID"] for r in files["appointments.csv"].values()} - patient_ids
    missing_i = {r["InsuranceID"] for r in files["claims.csv"].values()} - insurance_ids
    planted = {d["value"] for d in truth["defects"] if d["kind"] == "broken_reference"}
    assert missing_p | missing_i == planted
    assert len(missing_p) == 2 and len(missing_i) == 1


def test_family_members_share_address_and_phone_but_are_different_people(truth, files):
    by_id = {r["PatientID"]: r for r in files["patients.csv"].values()}
    assert len(truth["family_groups"]) >= 10
    for fam in truth["family_groups"]:
        members = [by_id[m] for m in fam["members"]]
        assert len(members) >= 2
        assert {m["Address1"] for m in members} == {fam["Address1"]}
        assert {m["HomePhone"] for m in members} == {fam["HomePhone"]} and fam["HomePhone"]
        assert len({m["FirstName"] for m in members}) == len(members)
        assert len({m["BirthDate"] for m in members}) == len(members)
        assert {m["GuarantorID"] for m in members} == {fam["guarantor"]}


def test_duplicates_are_the_same_person_entered_twice(truth, files):
    by_id = {r["PatientID"]: r for r in files["patients.csv"].values()}
    pairs = truth["duplicate_pairs"]
    assert len(pairs) == round(0.02 * PATIENTS)
    assert {p["variation"] for p in pairs} >= {"nickname", "case"} or len(pairs) < 3
    for p in pairs:
        a, b = by_id[p["original"]], by_id[p["duplicate"]]
        assert a["BirthDate"] == b["BirthDate"] == p["BirthDate"]
        assert a["MobilePhone"] == b["MobilePhone"] or a["Email"].lower() == b["Email"].lower()
        assert (a["FirstName"], a["LastName"]) != (b["FirstName"], b["LastName"])
        assert p["duplicate"] > p["original"]  # entered later, so a higher id


def test_providers_and_crm_users(truth, files, export):
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    emails = {u["email"] for u in users}
    providers = {r["ProviderID"]: r for r in files["providers.csv"].values()}
    assert len(providers) == max(4, PATIENTS // 150)
    assert 1 <= len(truth["unmatched_provider_ids"]) <= 2
    for pid in truth["unmatched_provider_ids"]:
        assert providers[pid]["Email"] and providers[pid]["Email"] not in emails
    assert [providers[p]["Email"] for p in truth["providers_without_email"]] == [""]
    matched = {r["Email"] for r in providers.values()} - {""} - {
        providers[p]["Email"] for p in truth["unmatched_provider_ids"]}
    assert matched < emails and any(u["email"].startswith("office@") for u in users)
    assert all(set(u) == {"email", "firstName", "lastName", "role"} for u in users)


def test_carriers_keep_both_united_companies_and_plant_variants(truth, files):
    carriers = [r["Carrier"] for r in files["insurance.csv"].values()]
    assert "UnitedHealthcare Dental" in carriers and "United Concordia" in carriers
    variants = [d for d in truth["defects"] if d["kind"] == "carrier_variant"]
    assert all(d["value"] != d["canonical"] for d in variants)


def test_documents_are_small_files_with_two_declared_oversized(truth, files, export):
    docs = files["documents.csv"]
    assert truth["counts"]["documents.csv"] == len(docs) >= 0.3 * PATIENTS
    over = {o["id"] for o in truth["oversized_documents"]}
    assert 1 <= len(over) <= 2
    for rec in docs.values():
        path = export / "documents" / rec["FileName"]
        assert path.stat().st_size < 8192
        if rec["DocumentID"] in over:
            assert int(rec["SizeBytes"]) > 25 * 1024 * 1024
        else:
            assert int(rec["SizeBytes"]) == path.stat().st_size


def test_values_look_like_a_us_practice(files):
    patients = list(files["patients.csv"].values())
    assert any(p["Zip"].startswith("0") for p in patients)
    assert all(p["State"] and len(p["State"]) == 2 for p in patients)
    assert {p["Status"] for p in patients} <= {"Active", "Inactive", "Archived", "Deceased",
                                               "Prospective"}
    codes = {a["ProcedureCode"] for a in files["appointments.csv"].values()}
    assert codes and all(c[0] == "D" and c[1:].isdigit() and len(c) == 5 for c in codes)
    assert len(files["referral_sources.csv"]) == 8
    per_patient = len(files["appointments.csv"]) / len(patients)
    assert 2 <= per_patient <= 4.5


def test_reader_counts_equal_generator_counts(export, truth):
    snap = DentOSoftSource().read(export)
    layout = load_layout()
    assert {layout.objects[k].schema.file: v for k, v in snap.counts().items()} == truth["counts"]
