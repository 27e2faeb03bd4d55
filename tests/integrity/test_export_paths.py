"""Files come only from inside the export: traversal, absolute paths, links that leave the
folder, devices and /proc are refused as the record's reason, and the rest of the run goes on."""

import csv
import hashlib
import json
import os
from pathlib import Path

import httpx
import pytest
import yaml

import crm_sandbox as sandbox
from toolkit import init_workspace
from toolkit import workflow as wf
from toolkit.demo import fallback_user
from toolkit.errors import SourceError
from toolkit.export_paths import UnsafePathError, inside, listing
from toolkit.sources import registry

TOKEN_ENV = "HIGHLEVEL_TOKEN"


def test_inside_accepts_files_of_the_export_and_links_within_it(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.pdf").write_bytes(b"%PDF")
    (tmp_path / "docs" / "b.pdf").symlink_to(tmp_path / "docs" / "a.pdf")
    assert inside("docs/a.pdf", tmp_path) == (tmp_path / "docs" / "a.pdf").resolve()
    assert inside("docs/b.pdf", tmp_path) == (tmp_path / "docs" / "a.pdf").resolve()


@pytest.mark.parametrize("name, why", [
    ("../outside.txt", "climbs out"), ("docs/../../outside.txt", "climbs out"), ("..\\outside.txt", "climbs out"),
    ("/etc/passwd", "absolute"), ("C:\\Windows\\win.ini", "absolute"),
    ("docs/escape.txt", "outside the export"), ("docs", "a folder"), ("", "names no file"),
])
def test_inside_refuses_what_leaves_the_export(tmp_path, name, why):
    (tmp_path / "outside.txt").write_text("secret")
    export = tmp_path / "export"
    (export / "docs").mkdir(parents=True)
    (export / "docs" / "escape.txt").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(UnsafePathError, match=why) as err:
        inside(name, export)
    assert "secret" not in str(err.value)


def test_inside_refuses_devices_and_fifos(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UnsafePathError, match="not a regular file"):
        inside("pipe", tmp_path)
    (tmp_path / "null").symlink_to("/dev/null")
    with pytest.raises(UnsafePathError):
        inside("null", tmp_path)


def test_absolute_paths_are_taken_only_from_the_toolkits_own_folders(tmp_path):
    own = tmp_path / "ws" / "inline"
    own.mkdir(parents=True)
    (own / "img.png").write_bytes(b"\x89PNG")
    assert inside(str(own / "img.png"), tmp_path / "export", also=(own,)) == (own / "img.png").resolve()
    with pytest.raises(UnsafePathError):
        inside(str(tmp_path / "ws" / "other.png"), tmp_path / "export", also=(own,))


def test_listing_refuses_a_table_that_links_outside(tmp_path):
    (tmp_path / "outside.csv").write_text("root:x:0:0\n")
    export = tmp_path / "export"
    export.mkdir()
    (export / "patients.csv").symlink_to(tmp_path / "outside.csv")
    (export / "ok.csv").write_text("a\n1\n")
    ok, refused = listing(export)
    assert list(ok) == ["ok.csv"] and "patients.csv" in refused


def test_a_linked_patients_file_is_refused_without_quoting_it(tmp_path):
    export = registry.get("dent-o-soft")().generate(tmp_path / "export", patients=20, seed=2)
    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (export / "patients.csv").unlink()
    (export / "patients.csv").symlink_to(outside)
    src = registry.get("dent-o-soft")()
    with pytest.raises(SourceError) as err:
        src.read(export)
    assert "outside the export" in str(err.value) and "root:x" not in str(err.value)
    audit = src.read_for_audit(export)
    assert any("outside the export" in e["message"] for e in audit.meta["read_errors"])


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """A documents file naming a traversal, an absolute path, /proc, a device and links that leave
    the export, loaded with patients into a HighLevel sandbox."""
    tmp = tmp_path_factory.mktemp("hostile")
    export = registry.get("dent-o-soft")().generate(tmp / "export", patients=20, seed=5)
    secret = tmp / "secret.txt"
    secret.write_bytes(b"TOP-SECRET " + os.urandom(16).hex().encode())
    (export / "documents" / "link.jpg").symlink_to(secret)
    (export / "documents" / "null.jpg").symlink_to("/dev/zero")
    path = export / "documents.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig", newline="")))
    good = len(rows)
    patient = rows[0]["PatientID"]
    hostile = {"HX1": "../" * 12 + "etc/passwd", "HX2": "link.jpg", "HX3": "../../proc/self/environ",
               "HX4": "null.jpg", "HX5": str(secret)}
    for key, name in hostile.items():
        rows.append({**rows[0], "DocumentID": key, "PatientID": patient, "FileName": name, "SizeBytes": "10"})
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    mp = pytest.MonkeyPatch()
    with sandbox.start("highlevel", seed={"users": users}, burst=100_000) as box:
        mp.setenv(TOKEN_ENV, box.token)
        ws = init_workspace(tmp / "ws", source="dent-o-soft", export=export, destination="highlevel",
                            base_url=box.url, token_env=TOKEN_ENV, options=box.options,
                            fallback_owner=fallback_user(users))
        wf.prepare_mapping(ws, accept_proposals=True)
        data = yaml.safe_load(ws.mapping_path.read_text(encoding="utf-8"))
        data["objects"] = [o for o in data["objects"] if o["source"] in {"patients", "documents"}]
        ws.mapping_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        out = wf.migrate(ws, progress=False)
        media = [httpx.get(m["url"]).content for m in box.state()["media"]]
        from toolkit.load.ledger import Ledger
        with Ledger(ws.ledger_path) as ledger:
            fates = ledger.fates()
        yield {"out": out, "media": media, "fates": fates, "hostile": hostile, "good": good,
               "secrets": [secret.read_bytes(), Path("/etc/passwd").read_bytes()]}
    mp.undo()


def test_no_local_file_outside_the_export_reaches_the_crm(hostile_run):
    assert hostile_run["out"].result.status == "finished", hostile_run["out"].result.message
    digests = {hashlib.sha256(m).hexdigest() for m in hostile_run["media"]}
    for secret in hostile_run["secrets"]:
        assert hashlib.sha256(secret).hexdigest() not in digests
    assert not any(b"TOP-SECRET" in m or b"root:" in m for m in hostile_run["media"])


def test_each_refused_file_is_its_records_error_and_the_rest_load(hostile_run):
    fates = hostile_run["fates"]
    for key in hostile_run["hostile"]:
        fate, reason = fates[("documents", key)]
        # the template puts "documents/" before an absolute name: it then names nothing in the export
        assert fate == "error" and ("refused" in reason or "not in the export" in reason), (key, fate, reason)
    others = {k: fr for (obj, k), fr in fates.items() if obj == "documents" and k not in hostile_run["hostile"]}
    assert len(others) == hostile_run["good"]
    created = [k for k, (f, _) in others.items() if f == "created"]
    # the generator plants defects of its own (a file missing from the export): those are errors too
    assert all(f == "created" or "refused" not in r for f, r in others.values()), others
    assert len(created) >= hostile_run["good"] - 2
    assert len(hostile_run["media"]) == len(created)
