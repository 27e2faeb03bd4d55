"""Reading a Dent-O-Soft export: raw values, line numbers, schema, and errors a person can act on.

Bad inputs are made by breaking a copy of a generated export, the way real exports break.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from toolkit.errors import SchemaDriftError, SourceError
from toolkit.sources import registry
from toolkit.sources._csv import read_strict_csv
from toolkit.sources.dent_o_soft import DentOSoftSource, generate, load_layout

SEED = 424242
PATIENTS = 200


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("dosr") / "export", patients=PATIENTS, seed=SEED)


@pytest.fixture(scope="module")
def truth(export) -> dict:
    return json.loads((export / "ground_truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def snap(export):
    return DentOSoftSource().read(export)


@pytest.fixture
def copy(export, tmp_path) -> Path:
    out = tmp_path / "export"
    out.mkdir()
    for p in export.iterdir():
        if p.is_file():
            shutil.copy(p, out / p.name)
    return out


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\r\n")


def _write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"\r\n".join(lines))


def test_registry_finds_the_source(export):
    assert registry.get("dent-o-soft") is DentOSoftSource


def test_values_are_raw_strings_with_na_for_empty(snap, truth):
    pats = snap["patients"]
    assert all(str(t) == "string" for t in pats.dtypes)
    assert pats["Zip"].str.startswith("0").any()  # leading zeros survive: no numeric coercion
    assert pats["MiddleInitial"].isna().any() and not (pats["MiddleInitial"] == "").any()
    assert pats["Balance"].str.contains(r"^-?\d+\.\d\d$", regex=True).all()
    # Mixed date formats come through untouched for the audit to find.
    bad = next(d for d in truth["defects"] if d["kind"] == "mixed_date_format")
    row = pats.loc[pats["PatientID"] == bad["id"], bad["column"]].item()
    assert row == bad["value"]


def test_cp1252_names_read_back(snap, truth):
    pats = snap["patients"]
    for s in truth["encoding_samples"]:
        assert pats.loc[pats["PatientID"] == s["id"], s["column"]].item() == s["value"]
    assert (pats["FirstName"] == "José").any() and (pats["LastName"] == "O’Brien").any()
    assert snap.meta["encodings"]["patients"] == "cp1252"


def test_line_numbers_match_the_file(snap, truth, export):
    lines = snap.meta["line_numbers"]
    assert set(lines) == set(snap.tables)
    for d in truth["defects"]:
        obj = d["file"].removesuffix(".csv")
        df, ln = snap[obj], lines[obj]
        key = snap.schema[obj].key
        hit = df.index[df[key] == d["id"]]
        assert list(ln[hit]) == [d["row"]], d
    # Against the standard library on the file with multi-line notes.
    with open(export / "clinical_notes.csv", encoding="cp1252", newline="") as fh:
        reader, starts, prev = csv.reader(fh), [], 1
        next(reader)
        for _ in reader:
            starts.append(prev + 1)
            prev = reader.line_num
    assert list(lines["clinical_notes"]) == starts
    assert snap["clinical_notes"]["NoteText"].str.contains("\n").any()


def test_schema_watermark_and_meta(snap):
    s = snap.schema
    assert s["appointments"].references["PatientID"] == "patients.PatientID"
    assert s["claims"].references["InsuranceID"] == "insurance.InsuranceID"
    assert s["patients"].key == "PatientID" and s["patients"].updated_column == "ModifiedDate"
    assert s["providers"].updated_column is None
    assert s["appointments"].picklists["Status"][-1] == "No Show"
    assert s["patients"].columns["Email"] == "email"
    assert list(snap["patients"].columns) == list(load_layout().objects["patients"].columns)
    newest = max(pd.to_datetime(snap[o]["ModifiedDate"], format="%m/%d/%Y %H:%M").max()
                 for o in ("patients", "appointments", "treatment_plans"))
    assert snap.watermark == newest.isoformat()
    assert snap.meta["layout_version"] == "dos-7"
    assert snap.meta["ignored_files"] == ["crm_users.json", "ground_truth.json"]
    assert snap.source == "dent-o-soft"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_exports_are_detected(copy, snap, encoding):
    p = copy / "patients.csv"
    p.write_bytes(p.read_bytes().decode("cp1252").encode(encoding))
    again = DentOSoftSource().read(copy)
    assert again.meta["encodings"]["patients"] == encoding
    pd.testing.assert_frame_equal(again["patients"], snap["patients"])


def test_optional_files_may_be_absent(copy):
    (copy / "documents.csv").unlink()
    (copy / "clinical_notes.csv").unlink()
    snap = DentOSoftSource().read(copy)
    assert snap.meta["missing_optional"] == ["clinical_notes", "documents"]
    assert "documents" not in snap.tables


def test_file_names_match_case_insensitively(copy):
    (copy / "patients.csv").rename(copy / "PATIENTS.CSV")
    assert len(DentOSoftSource().read(copy)["patients"]) == PATIENTS


def test_missing_folder(tmp_path):
    with pytest.raises(SourceError, match="does not exist") as e:
        DentOSoftSource().read(tmp_path / "nowhere")
    assert "nowhere" in str(e.value)


def test_missing_required_file(copy):
    (copy / "insurance.csv").unlink()
    with pytest.raises(SourceError, match="required file 'insurance.csv' is missing") as e:
        DentOSoftSource().read(copy)
    assert e.value.file == "insurance.csv"


def test_renamed_column_is_schema_drift_with_hint(copy):
    p = copy / "patients.csv"
    lines = _lines(p)
    lines[0] = lines[0].replace(b"MobilePhone", b"Mobile_Phone")
    _write_lines(p, lines)
    with pytest.raises(SchemaDriftError) as e:
        DentOSoftSource().read(copy)
    msg = str(e.value)
    assert "file patients.csv" in msg and "row 1" in msg and "'MobilePhone'" in msg
    assert "renamed column(s) 'MobilePhone' -> 'Mobile_Phone'" in msg
    assert "Fix: rename column 'Mobile_Phone' back to 'MobilePhone' in patients.csv" in msg
    assert e.value.missing == ["MobilePhone"] and e.value.extra == ["Mobile_Phone"]


def test_unknown_extra_column_is_schema_drift(copy):
    p = copy / "providers.csv"
    lines = _lines(p)
    lines = [ln + (b",Extension" if i == 0 else b",x101") if ln else ln for i, ln in enumerate(lines)]
    _write_lines(p, lines)
    with pytest.raises(SchemaDriftError, match=r"unknown column\(s\) 'Extension'") as e:
        DentOSoftSource().read(copy)
    assert e.value.file == "providers.csv" and e.value.row == 1 and e.value.column == "Extension"


def test_row_with_too_many_fields(copy, snap):
    p = copy / "clinical_notes.csv"
    target = int(snap.meta["line_numbers"]["clinical_notes"].iloc[-1])  # after multi-line notes
    lines = _lines(p)
    lines[target - 1] = lines[target - 1].replace(b",", b",,", 1)
    _write_lines(p, lines)
    with pytest.raises(SourceError, match="8 fields but the header has 7") as e:
        DentOSoftSource().read(copy)
    assert e.value.file == "clinical_notes.csv" and e.value.row == target
    assert f"row {target}" in str(e.value) and "column" in str(e.value)


def test_row_with_too_few_fields(copy):
    p = copy / "appointments.csv"
    lines = _lines(p)
    lines[9] = lines[9].rsplit(b",", 2)[0]  # line 10 loses its last two fields
    _write_lines(p, lines)
    with pytest.raises(SourceError, match="columns from 'CreatedDate' on are missing") as e:
        DentOSoftSource().read(copy)
    assert (e.value.file, e.value.row, e.value.column) == ("appointments.csv", 10, "CreatedDate")


def test_unclosed_quote(copy):
    p = copy / "patients.csv"
    lines = _lines(p)
    lines[41] = lines[41].replace(b",", b',"', 3)  # a quote opened in the 4th field, never closed
    lines[41] = lines[41].replace(b',"', b",", 2)
    _write_lines(p, lines)
    with pytest.raises(SourceError, match="never closed") as e:
        DentOSoftSource().read(copy)
    assert (e.value.file, e.value.row, e.value.column) == ("patients.csv", 42, "FirstName")


def test_undecodable_byte(copy, snap):
    p = copy / "patients.csv"
    lines = _lines(p)
    lines[57] = lines[57].replace(b",Active,", b",Act\x81ive,", 1).replace(
        b",Inactive,", b",Inact\x81ive,", 1).replace(b",Prospective,", b",Prosp\x81ective,", 1) \
        .replace(b",Archived,", b",Arch\x81ived,", 1).replace(b",Deceased,", b",Dec\x81eased,", 1)
    _write_lines(p, lines)
    with pytest.raises(SourceError, match="0x81 .* cannot be decoded as cp1252") as e:
        DentOSoftSource().read(copy)
    assert (e.value.file, e.value.row, e.value.column) == ("patients.csv", 58, "Status")


def test_corrupt_byte_in_a_utf8_export(copy):
    p = copy / "patients.csv"
    text = p.read_bytes().decode("cp1252").encode("utf-8")
    lines = text.split(b"\r\n")
    lines[99] = lines[99].replace(b",", b",\xff", 2).replace(b",\xff", b",", 1)
    _write_lines(p, lines)
    with pytest.raises(SourceError, match="cannot be decoded as utf-8") as e:
        DentOSoftSource().read(copy)
    assert (e.value.row, e.value.column) == (100, "LastName")


def test_empty_file(copy):
    (copy / "recalls.csv").write_bytes(b"")
    with pytest.raises(SourceError, match="empty") as e:
        DentOSoftSource().read(copy)
    assert e.value.file == "recalls.csv" and "row 1" in str(e.value)


def test_header_only_file_is_an_empty_table(copy):
    p = copy / "recalls.csv"
    p.write_bytes(_lines(p)[0] + b"\r\n")
    assert len(DentOSoftSource().read(copy)["recalls"]) == 0


def test_blank_lines_are_skipped_but_counted(copy, snap):
    p = copy / "referral_sources.csv"
    lines = _lines(p)
    lines.insert(3, b"")
    lines.insert(5, b"   ")
    _write_lines(p, lines)
    again = DentOSoftSource().read(copy)
    assert len(again["referral_sources"]) == 8
    assert list(again.meta["line_numbers"]["referral_sources"]) == [2, 3, 5, 7, 8, 9, 10, 11]


def test_scan_is_independent_of_chunk_size(export):
    notes = export / "clinical_notes.csv"
    cols = load_layout().objects["clinical_notes"].columns
    a = read_strict_csv(notes, expected_columns=cols)
    b = read_strict_csv(notes, expected_columns=cols, chunk_size=7)
    assert (a.lines == b.lines).all()
    pd.testing.assert_frame_equal(a.frame, b.frame)


def test_newest_reads_the_digits_like_a_full_parse():
    """The watermark's digit key picks the same newest value as parsing every matching value."""
    import random

    import pyarrow as pa

    from toolkit.sources._export import newest

    rng = random.Random(5)
    fmt = "%m/%d/%Y %H:%M"
    vals = [f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1990, 2030)} "
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}" for _ in range(5000)]
    vals += [None, "", "12/31/2031 23:59 ", "1/1/2040 10:00", "12/31/２０３９ 23:59", "garbage"]
    rng.shuffle(vals)
    strict = pd.Series([v if v and len(v) == 16 and v.isascii() else None for v in vals])
    want = pd.to_datetime(strict, format=fmt, errors="coerce").max().isoformat()
    for dtype in ("str", pd.ArrowDtype(pa.large_string()), pd.ArrowDtype(pa.string())):
        s = pd.Series(vals, dtype=dtype)
        assert newest(pd.DataFrame({"m": s}), "m", {"m": fmt}) == want
        # a slice of the column (non-zero Arrow offset) still reads the right bytes
        tail = s.iloc[2500:].reset_index(drop=True)
        sub = pd.to_datetime(strict.iloc[2500:], format=fmt, errors="coerce").max().isoformat()
        assert newest(pd.DataFrame({"m": tail}), "m", {"m": fmt}) == sub
