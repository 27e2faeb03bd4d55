"""Real exports nobody prepared, from propose to a clean reconcile, in each CRM.

Each folder of ``tests/corpus/`` (real, openly licensed files; see each folder's ``SOURCE.md``) goes
through the steps a new user runs — ``init`` with ``--source generic-csv``, ``propose``, ``map
--accept-proposals``, ``migrate`` and ``reconcile`` — against each CRM's sandbox, with no hand
edits. Every source row must end accounted for, people must land as the CRM's people, and every
record linked to a person must hang under the right one, checked against the export's own keys.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import crm_sandbox as sandbox
from toolkit.cli import main
from toolkit.workflow import open_workspace, reconcile

pytestmark = pytest.mark.e2e

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
PEOPLE = {"highlevel": "contact", "freshsales": "contact", "pipedrive": "person"}


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("destination", ["highlevel", "freshsales", "pipedrive"])
def test_synthea_export_moves_whole_with_no_hand_edits(tmp_path, monkeypatch, destination):
    export = CORPUS / "synthea"
    with sandbox.start(destination, seed={"users": []}, time_scale=20) as box:
        monkeypatch.setenv("CORPUS_TOKEN", box.token)
        ws = tmp_path / "ws"
        args = ["init", str(ws), "--source", "generic-csv", "--export", str(export), "--destination", destination,
                "--base-url", box.url, "--token-env", "CORPUS_TOKEN"]
        if box.options.get("location_id"):
            args += ["--location-id", box.options["location_id"]]
        assert main(args) == 0
        assert main(["propose", str(ws)]) == 0
        assert main(["map", str(ws), "--accept-proposals"]) == 0
        assert main(["migrate", str(ws)]) == 0
        rec = reconcile(open_workspace(ws))
        s = rec.summary()
        assert s["unaccounted"] == 0, s
        fates = rec.fates
        patients = _rows(export / "patients.csv")
        mine = fates[fates.object == "patients"]
        assert len(mine) == len(patients)
        assert set(mine.fate) <= {"created", "merged"}, mine[~mine.fate.isin(["created", "merged"])]
        assert set(mine.dest_object) == {PEOPLE[destination]}
        # each encounter hangs under its own patient's record
        person_of = dict(zip(mine.source_key, mine.dest_id))
        encounters = _rows(export / "encounters.csv")
        moved = fates[(fates.object == "encounters") & (fates.fate == "created")]
        assert len(moved) == len(encounters)
        state = box.state()
        parent = _parents(destination, state, moved)
        for e in encounters:
            assert parent[e["Id"]] == person_of[e["PATIENT"]], e["Id"]
