"""Broken exports: each is a clear error naming file, row and column when migrating, and a
reported finding when auditing — the audit never stops and nothing is dropped unreported."""

from __future__ import annotations

import shutil
import tracemalloc

import pytest

from toolkit import _paths
from toolkit.audit import run_audit
from toolkit.errors import SchemaDriftError, SourceError
from toolkit.sources import registry
from toolkit.sources._csv import read_strict_csv


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return registry.get("practice-by-numbers")().generate(tmp_path_factory.mktemp("pbn") / "x", patients=60, seed=2)


@pytest.fixture
def export(pristine, tmp_path):
    out = tmp_path / "export"
    shutil.copytree(pristine, out)
    return out


SRC = registry.get("practice-by-numbers")


def _audit(folder):
    snap = SRC().read_for_audit(folder)
    return snap, run_audit(snap, _paths.EXPECTATIONS)


def test_truncated_file_mid_record(export):
    p = export / "appointments.csv"
    data = p.read_bytes()
    p.write_bytes(data[: data.rindex(b"\n", 0, len(data) - 1) + 40])  # cut inside the last record
    with pytest.raises(SourceError) as e:
        SRC().read(export)
    assert e.value.file == "appointments.csv" and e.value.row and e.value.column
    snap, report = _audit(export)
    bad = [x for x in report.read_errors if x["file"] == "appointments.csv"]
    assert len(bad) == 1 and bad[0]["row"] == e.value.row and "left out" in bad[0]["message"]
    assert len(snap["appointments"]) == len(data.splitlines()) - 2  # every other record still read


def test_unclosed_quote(export):
    p = export / "staff.csv"
    lines = p.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b",", b',"', 1)
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(SourceError, match="never closed") as e:
        SRC().read(export)
    assert (e.value.file, e.value.row, e.value.column) == ("staff.csv", 4, "office_id")
    snap, report = _audit(export)
    assert any(x["file"] == "staff.csv" and x["row"] == 4 for x in report.read_errors)
    assert len(snap["staff"]) == 0 and not report.findings().query("check == 'unreadable'").empty


def test_wrong_encoding_bytes(export):
    p = export / "offices.csv"
    p.write_bytes(p.read_bytes().replace("–".encode(), b"\xff\xfe\x81"))
    with pytest.raises(SourceError, match="cannot be decoded") as e:
        SRC().read(export)
    assert e.value.file == "offices.csv" and e.value.row == 2 and e.value.column == "office_name"


def test_utf16_export_reads_the_same(export):
    p = export / "patients.csv"
    before = SRC().read(export)["patients"]
    p.write_text(p.read_text(encoding="utf-8"), encoding="utf-16")
    after = SRC().read(export)
    assert after.meta["encodings"]["patients"] == "utf-16"
    assert after["patients"].equals(before)


def test_missing_column_is_a_drift_report_with_the_fix(export):
    p = export / "cases.csv"
    lines = p.read_text(encoding="utf-8").split("\n")
    lines[0] = lines[0].replace("probability", "probabilty")
    p.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(SchemaDriftError) as e:
        SRC().read(export)
    assert e.value.renamed == {"probability": "probabilty"} and "Fix: rename column 'probabilty'" in str(e.value)
    snap, report = _audit(export)
    drift = report.drift["cases"]
    assert drift["renamed"] == {"probability": "probabilty"} and drift["fix"]
    assert "probability" in snap["cases"].columns  # read under the declared name
    assert report.summary()["schema_drift"] == 1


def test_extra_and_missing_columns_are_kept_and_named(export):
    p = export / "offices.csv"
    rows = p.read_text(encoding="utf-8").rstrip("\n").split("\n")
    rows = [r.rsplit(",", 1)[0] + (",region" if i == 0 else ",north") for i, r in enumerate(rows)]
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    snap, report = _audit(export)
    d = report.drift["offices"]
    assert d["missing"] == ["pms_system"] and d["extra"] == ["region"]
    assert "region" in snap["offices"].columns and snap["offices"]["pms_system"].isna().all()


def test_empty_and_header_only_files(export):
    (export / "form_submissions.csv").write_bytes(b"")
    header = (export / "cases.csv").read_text(encoding="utf-8").split("\n")[0]
    (export / "cases.csv").write_text(header + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match="empty") as e:
        SRC().read(export)
    assert e.value.file == "form_submissions.csv"
    snap, report = _audit(export)
    assert len(snap["cases"]) == 0 and "cases" not in report.drift
    assert [x["file"] for x in report.read_errors] == ["form_submissions.csv"]


def test_a_file_of_zero_bytes_is_not_a_text_export(tmp_path):
    p = tmp_path / "patients.csv"
    with open(p, "wb") as fh:  # a sparse file: space reserved, never written
        fh.truncate(64 << 20)
    with pytest.raises(SourceError, match="zero byte at offset 0") as e:
        read_strict_csv(p)
    assert e.value.row == 1


def test_missing_required_file_in_audit(export):
    (export / "staff.csv").unlink()
    with pytest.raises(SourceError, match="required file 'staff.csv'"):
        SRC().read(export)
    snap, report = _audit(export)
    assert any(x["file"] == "staff.csv" for x in report.read_errors)
    assert "staff" in snap.tables


def test_generic_folder_with_a_broken_file_still_audits(tmp_path):
    src = registry.get("generic-csv")()
    out = src.generate(tmp_path / "g", patients=40, seed=1)
    (out / "notes.csv").write_bytes(b'id,note\n1,"never closed\n2,fine\n')
    with pytest.raises(SourceError, match="never closed"):
        src.read(out)
    snap = src.read_for_audit(out)
    report = run_audit(snap, _paths.EXPECTATIONS)
    assert [e["file"] for e in report.read_errors] == ["notes.csv"]
    assert "contacts" in report.expectations


def test_reading_holds_about_the_file_not_more(tmp_path):
    """Bounded memory: Python-side allocations while reading stay a small multiple of the file
    (values live in Arrow buffers, which tracemalloc does not count; the byte scans read in
    chunks), so the read path never materialises per-value Python objects."""
    p = tmp_path / "big.csv"
    row = b"P000001,Smith,John,01/02/1980,(617) 555-0101,john.smith@example.com,Active\n"
    p.write_bytes(b"id,last,first,dob,phone,email,status\n" + row * 200_000)  # ~15 MB
    tracemalloc.start()
    table = read_strict_csv(p, chunk_size=1 << 20)
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(table.frame) == 200_000
    assert peak < p.stat().st_size  # no per-value Python objects


MULTILINE = {
    "notes": b'id,note,other\r\n1,"line a\r\nline b",x\r\n2,"he said ""hi""\r\nbye",y\r\n3,"z",w',
    "blank line in a note": b'id,note,other\r\n1,"a\r\n\r\nb",x\r\n2,"",y\r\n',
    "quote inside an unquoted field": b'id,note,other\r\n1,"line a\r\nline b",x\r\n2,5" gap 6",y\r\n3,"z",w\r\n',
    "stray quote opens a field": b'id,note,other\r\n1,"line a\r\nline b",x\r\n2,ab"c,"d\r\ne"\r\n3,"z",w\r\n',
    "cp1252 note": 'id,note,other\r\n1,"José\r\nO’Brien",x\r\n2,Müller,y\r\n'.encode("cp1252"),
}


#: blank lines are left to the parser's record count (only a blank first line is looked for)
BLANK_LINES = {
    "blank line between plain records": b'id,note,other\n1,a,x\n\n2,b,y\n',
    "blank CRLF line between plain records": b'id,note,other\r\n1,a,x\r\n\r\n2,b,y\r\n',
    "blank line between records with notes": b'id,note,other\r\n1,"a\r\nb",x\r\n\r\n2,"",y\r\n',
    "blank first line": b'\nid,note,other\n1,a,x\n',
    "blank first line after a BOM": b'\xef\xbb\xbf\r\nid,note,other\r\n1,a,x\r\n',
    "blank last lines": b'id,note,other\n1,a,x\n\n\n',
    "whitespace-only line": b'id,note,other\n1,a,x\n  \n2,b,y\n',
}


@pytest.mark.parametrize("case", sorted(MULTILINE) + sorted(BLANK_LINES))
@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_multiline_files_read_as_the_exact_scan_reads_them(tmp_path, case, chunk):
    """Files whose quoted values hold line breaks take a fast path (line numbers from the breaks
    inside values, quotes checked to be where RFC 4180 allows); it must agree with the exact
    structure scan — same values, lines and errors. So must files with blank lines, which the
    cheap pass no longer searches for."""
    from toolkit.sources import _csv

    p = tmp_path / "x.csv"
    p.write_bytes({**MULTILINE, **BLANK_LINES}[case])

    def read(fn, *args):
        try:
            t = fn(*args)
            return t.frame.to_dict("list"), list(map(int, t.lines)), t.bad_rows, t.encoding
        except SourceError as exc:
            return str(exc), exc.row, exc.column

    fast = read(lambda: _csv.read_strict_csv(p, chunk_size=chunk, bad_rows="collect"))
    exact = read(lambda: _csv._read_scanned(p, p.name, None, "cp1252", ",", "the declared layout", chunk,
                                            "collect"))
    assert fast == exact


def test_several_broken_files_are_reported_in_the_layouts_order(export):
    """Files are read two at a time; what a user sees must not depend on which finished first:
    the first broken file in the layout's order stops a migration, and an audit lists them all in
    that order."""
    order = [o.schema.file for o in SRC().layouts()[0].objects.values()]
    first, later = order[0], order[-1]
    for name in (later, first):  # break the later file first: its error must still come second
        p = export / name
        lines = p.read_bytes().split(b"\n")
        lines[1] = lines[1].replace(b",", b',"', 1)  # an unclosed quote on line 2
        p.write_bytes(b"\n".join(lines))
    with pytest.raises(SourceError, match="never closed") as e:
        SRC().read(export)
    assert e.value.file == first
    _snap, report = _audit(export)
    assert [x["file"] for x in report.read_errors] == [first, later]
