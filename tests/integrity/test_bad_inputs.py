"""Bad input gets one line naming file, row (and column where there is one), exit status 2, and
nothing written to the destination; an empty object others refer to is refused; outsized values
are reported; a very wide header is compared in linear time and named briefly."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import crm_sandbox as sandbox
from toolkit import init_workspace
from toolkit import workflow as wf
from toolkit import _paths
from toolkit.audit import run_audit
from toolkit.demo import fallback_user
from toolkit.errors import SchemaDriftError, SourceError
from toolkit.sources import registry


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return registry.get("dent-o-soft")().generate(tmp_path_factory.mktemp("bad") / "export", patients=20, seed=3)


@pytest.fixture
def export(template, tmp_path) -> Path:
    import shutil

    return Path(shutil.copytree(template, tmp_path / "export"))


def _rows(path: Path) -> tuple[list[dict], str]:
    raw = path.read_bytes()
    try:
        return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))), "utf-8"
    except UnicodeDecodeError:
        return list(csv.DictReader(io.StringIO(raw.decode("cp1252")))), "cp1252"


def _write(path: Path, rows: list[dict], enc: str, header=None) -> None:
    with open(path, "w", encoding=enc, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header or list(rows[0]), lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)


def test_cr_only_line_endings_are_named_by_file_and_row(export):
    path = export / "patients.csv"
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r"))
    with pytest.raises(SourceError) as err:
        registry.get("dent-o-soft")().read(export)
    assert str(err.value).startswith("file patients.csv, row 1: ") and "carriage return" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_csv_named_xlsx_is_named_not_a_traceback(tmp_path):
    (tmp_path / "contacts.xlsx").write_text("id,name\n1,Ann\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"file contacts.xlsx, row 1: named .xlsx but its content is text"):
        registry.get("generic-csv")().read(tmp_path)
    audit = registry.get("generic-csv")().read_for_audit(tmp_path)
    assert "named .xlsx" in audit.meta["read_errors"][0]["message"]


def test_a_very_wide_header_is_named_in_one_short_line(export):
    path = export / "patients.csv"
    lines = path.read_bytes().split(b"\r\n")
    lines[0] += b"," + b",".join(b"X%d" % i for i in range(100_000))
    lines[1:] = [ln + b"," * 100_000 if ln else ln for ln in lines[1:]]
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(SchemaDriftError) as err:
        registry.get("dent-o-soft")().read(export)
    assert "and 99,988 more" in str(err.value) and len(str(err.value)) < 2000


def test_outsized_values_are_reported_by_the_audit(export):
    rows, enc = _rows(export / "patients.csv")
    rows[3]["Address1"] = "X" * 1_000_000
    _write(export / "patients.csv", rows, enc)
    report = run_audit(registry.get("dent-o-soft")().read_for_audit(export), _paths.EXPECTATIONS)
    found = report.findings().query("check == 'outsized'")
    assert found[["column", "line", "id"]].values.tolist() == [["Address1", 5, rows[3]["PatientID"]]]
    assert report.summary()["outsized_values"] == 1


@pytest.fixture
def box(template):
    users = json.loads((template / "crm_users.json").read_text(encoding="utf-8"))
    with sandbox.start("highlevel", seed={"users": users}, burst=100_000) as b:
        b.users = users
        yield b


def _workspace(tmp_path, export, box, monkeypatch):
    monkeypatch.setenv("HIGHLEVEL_TOKEN", box.token)
    ws = init_workspace(tmp_path / "ws", source="dent-o-soft", export=export, destination="highlevel",
                        base_url=box.url, token_env="HIGHLEVEL_TOKEN", options=box.options,
                        fallback_owner=fallback_user(box.users))
    wf.prepare_mapping(ws, accept_proposals=True)
    return ws


def test_a_header_only_patients_file_is_a_finding_and_migrate_refuses_before_any_write(export, tmp_path, box,
                                                                                          monkeypatch):
    ws = _workspace(tmp_path, export, box, monkeypatch)
    path = export / "patients.csv"
    path.write_bytes(path.read_bytes().split(b"\r\n", 1)[0] + b"\r\n")
    report = run_audit(registry.get("dent-o-soft")().read_for_audit(export), _paths.EXPECTATIONS)
    empty = report.findings().query("check == 'empty'")
    assert empty["file"].tolist() == ["patients.csv"] and "refuses" in empty["why"].iloc[0]
    before = box.state()
    with pytest.raises(SourceError, match=r"^file patients.csv, row 2: has a header but no records"):
        wf.migrate(ws, progress=False)
    after = box.state()
    assert after["customFields"] == before["customFields"] and after["contacts"] == [] and after["objects"] == []


def test_the_command_line_says_one_line_and_exits_2(export, tmp_path, box, monkeypatch):
    ws = _workspace(tmp_path, export, box, monkeypatch)
    path = export / "patients.csv"
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r"))
    env = {**os.environ, "HIGHLEVEL_TOKEN": box.token}
    run = subprocess.run([sys.executable, "-m", "toolkit.cli", "migrate", str(ws.root)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if ln.strip() and "WARNING" not in ln]
    assert len(lines) == 1 and "patients.csv, row 1" in lines[0], run.stderr
    assert box.state()["contacts"] == [] and box.state()["customFields"] == []
