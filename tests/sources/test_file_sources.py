"""Practice by Numbers, Dental-Exec and any-CSV exports: deterministic generators whose ground
truth points at real cells, readers that give back what was written, and automations read from
the exports' own definitions. Ground-truth checks read the files with the standard library's csv
module, not with our reader."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from toolkit.sources import registry

FILE_SOURCES = ["practice-by-numbers", "dental-exec", "dent-o-soft"]
KINDS = {"workflow", "reminder", "recall_rule", "email_template", "sms_template"}


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module", params=FILE_SOURCES)
def export(request, tmp_path_factory):
    src = registry.get(request.param)()
    out = src.generate(tmp_path_factory.mktemp(request.param) / "export", patients=120, seed=31)
    return src, out, json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))


def _records(path: Path, encoding: str) -> dict[int, dict]:
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.DictReader(fh)
        reader.fieldnames  # reads the header
        out, line = {}, reader.line_num
        for rec in reader:
            out[line + 1] = rec
            line = reader.line_num
        return out


def test_same_seed_same_bytes(export, tmp_path):
    src, out, _ = export
    again = src.generate(tmp_path / "again", patients=120, seed=31)
    other = src.generate(tmp_path / "other", patients=120, seed=32)
    assert _digest(again) == _digest(out) != _digest(other)


def test_ground_truth_points_at_the_planted_values(export):
    src, out, truth = export
    enc = "utf-8-sig" if src.name == "dental-exec" else ("cp1252" if src.name == "dent-o-soft" else "utf-8")
    files = {}
    for d in truth["defects"]:
        if d["file"] not in files:
            files[d["file"]] = _records(out / d["file"], enc)
        rec = files[d["file"]][d["row"]]
        assert rec[d["column"]] == d["value"], d


def test_reader_counts_match_and_types_are_text(export):
    src, out, truth = export
    snap = src.read(out)
    counts = {snap.schema[k].file: v for k, v in snap.counts().items()}
    assert counts == truth["counts"]
    for name, df in snap.tables.items():
        assert all(str(t) == "string" for t in df.dtypes), name
        assert len(snap.meta["line_numbers"][name]) == len(df)


def test_automations_come_from_the_exports_definitions(export):
    src, out, truth = export
    autos = src.read(out).meta["automations"]
    assert autos and {a["kind"] for a in autos} <= KINDS
    assert all(set(a) == {"kind", "name", "trigger", "steps", "body", "channel"} for a in autos)
    assert any(a["kind"] in {"workflow", "reminder", "recall_rule"} and a["steps"] for a in autos)
    assert any(a["kind"].endswith("_template") and a["body"] for a in autos)
    assert set(truth["definition_files"]) <= set(src.read(out).meta["definition_files"])


def test_watermark_is_the_newest_modification(export):
    src, out, _ = export
    snap = src.read(out)
    assert snap.watermark and snap.watermark <= "2025-03-14T17:45:00"


def test_dental_exec_practice_loops_and_people(tmp_path):
    src = registry.get("dental-exec")()
    out = src.generate(tmp_path / "dx", patients=200, seed=5)
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    loops = [d for d in truth["defects"] if d["kind"] == "circular_parent"]
    assert len(loops) == 4  # two loops of two practices
    snap = src.read(out)
    practices = snap["practices"].set_index("PracticeID")["ParentPracticeID"]
    for d in loops:
        a, b = d["cycle"]
        assert practices[a] == b and practices[b] == a
    roles = snap["contacts"]["LifecycleRole"].value_counts()
    assert roles["Prospect"] == truth["prospects"] and roles["Referring Dentist"] == truth["referring_dentists"]
    dentists = snap["contacts"][snap["contacts"]["LifecycleRole"] == "Referring Dentist"]
    assert dentists["NPI"].str.fullmatch(r"\d{10}").sum() == len(dentists) - 2  # two planted bad NPIs


def test_dent_o_soft_reads_the_older_layout(tmp_path):
    src = registry.get("dent-o-soft")()
    out = src.generate(tmp_path / "dos", patients=60, seed=3)
    for name in ("clinical_notes.csv", "documents.csv", "provider_schedules.csv", "custom_fields.csv",
                 "patient_custom_values.csv"):
        (out / name).unlink()
    for name, drop in (("patients.csv", ("PreferredName", "SecondaryReferralSourceID")),
                       ("appointments.csv", ("CreatedDate", "ModifiedDate"))):
        with open(out / name, encoding="cp1252", newline="") as fh:
            rows = list(csv.DictReader(fh))
        cols = [c for c in rows[0] if c not in drop]
        with open(out / name, "w", encoding="cp1252", newline="") as fh:
            w = csv.DictWriter(fh, cols, extrasaction="ignore", lineterminator="\r\n")
            w.writeheader()
            w.writerows(rows)
    snap = src.read(out)
    assert snap.meta["layout_version"] == "dos-6"
    assert "PreferredName" not in snap["patients"].columns


def test_generic_detection_matches_what_was_written(tmp_path):
    src = registry.get("generic-csv")()
    out = src.generate(tmp_path / "g", patients=80, seed=9)
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    snap = src.read(out)
    for table, want in truth["expected_detection"].items():
        got = snap.meta["detected"][table]
        assert {k: got.get(k) for k in want} == want, table
        assert got["sure"] == "high"
    assert snap.meta["detected"]["contacts"]["date_formats"]["Date of Birth"]["format"] == "%m/%d/%Y"
    assert snap.counts() == truth["counts"]
    assert set(snap.tables) == {"contacts", "appointments", "companies", "crm_export.deals", "crm_export.notes"}
    # Excel rows are reported as Excel numbers them (a title row above the header)
    assert snap.meta["line_numbers"]["crm_export.deals"].iloc[0] == 3
