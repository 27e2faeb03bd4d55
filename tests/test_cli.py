"""Bad input: one line naming the thing, exit status 2, nothing written to the destination."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import crm_sandbox as sandbox
from toolkit.cli import main


def _run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_unknown_source_name(tmp_path, capsys):
    # the choices are the registry's: argparse refuses with the list, exit 2 (bad input)
    with pytest.raises(SystemExit) as stop:
        main(["init", str(tmp_path / "ws"), "--source", "nope", "--export", str(tmp_path), "--destination", "highlevel"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "invalid choice: 'nope'" in err and "dent-o-soft" in err
    assert not (tmp_path / "ws").exists()


def test_missing_export_folder(tmp_path, capsys):
    assert main(["init", str(tmp_path / "ws"), "--source", "dent-o-soft", "--export", str(tmp_path / "missing"),
                 "--destination", "highlevel"]) == 2
    assert "missing does not exist" in capsys.readouterr().err
    assert not (tmp_path / "ws").exists()


def test_generate_unknown_source(capsys, tmp_path):
    with pytest.raises(SystemExit) as stop:
        main(["generate", "nosuch", "--out", str(tmp_path)])
    assert stop.value.code == 2 and "invalid choice: 'nosuch'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    assert main(["generate", "dent-o-soft", "--patients", "30", "--seed", "5", "--out", str(out)]) == 0
    return out


def test_unset_token_variable_stops_before_any_call(tmp_path, export, capsys):
    with sandbox.start("highlevel") as box:
        assert main(["init", str(tmp_path / "ws"), "--source", "dent-o-soft", "--export", str(export),
                     "--destination", "highlevel", "--base-url", box.url, "--location-id", box.location_id,
                     "--token-env", "NO_SUCH_TOKEN_VAR_SET"]) == 0
        os.environ.pop("NO_SUCH_TOKEN_VAR_SET", None)
        assert main(["migrate", str(tmp_path / "ws"), "--accept-proposals"]) == 2
        err = capsys.readouterr().err.strip()
        assert "NO_SUCH_TOKEN_VAR_SET is not set" in err and "\n" not in err
        assert box.state()["contacts"] == []


def test_wrong_header_is_one_line_exit_2(tmp_path, export, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in export.iterdir():
        if f.is_file():
            (bad / f.name).write_bytes(f.read_bytes())
    patients = bad / "patients.csv"
    patients.write_bytes(patients.read_bytes().replace(b"Email,", b"EMail_Address,", 1))
    assert main(["init", str(tmp_path / "ws"), "--source", "dent-o-soft", "--export", str(bad),
                 "--destination", "highlevel", "--base-url", "http://127.0.0.1:9"]) == 0
    proc = _run("audit", str(tmp_path / "ws"))
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()[-1]
    assert "patients.csv" in err and "Email" in err and "EMail_Address" in err
