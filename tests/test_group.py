"""A dental group's manifest, pools, sample gate and roll-up, without a scheduler.

(tests/airflow/test_group_dag.py runs the same through Apache Airflow, end to end.)
"""

from __future__ import annotations

import json

import pytest

from toolkit.cli import main
from toolkit.errors import ConfigError, SampleGateClosed
from toolkit.sources import registry
from toolkit.workflow import group, open_workspace, prepare_mapping


@pytest.fixture()
def exports(tmp_path):
    for name in ("north", "south"):
        registry.get("dent-o-soft")().generate(tmp_path / "exports" / name, patients=20, seed=4)
    return tmp_path


def _manifest(root, lines: str):
    path = root / "group.yaml"
    path.write_text("group: Bright Smiles\nworkspaces: ws\npractices:\n" + lines, encoding="utf-8")
    return path


NORTH = ('  - {name: north, source: dent-o-soft, export: exports/north, destination: highlevel, '
         'token_env: NORTH_TOKEN, options: {location_id: loc-1}}\n')
SOUTH = ('  - {name: south, source: dent-o-soft, export: exports/south, destination: highlevel, '
         'token_env: SOUTH_TOKEN, options: {location_id: loc-1}}\n')


def test_a_bad_manifest_is_refused_with_file_and_line(exports):
    path = _manifest(exports, NORTH + '  - {name: south, source: dent-o-sfot, export: exports/nowhere, '
                     'destination: highlevel, tokn_env: X}\n')
    with pytest.raises(ConfigError) as err:
        group.load_manifest(path)
    text = str(err.value)
    assert f"{path}:" in text and "tokn_env" in text and "token_env" in text  # unknown key, with did-you-mean
    path = _manifest(exports, NORTH + '  - {name: south, source: dent-o-sfot, export: exports/nowhere, '
                     'destination: highlevel}\n')
    with pytest.raises(ConfigError) as err:
        group.load_manifest(path)
    assert "dent-o-soft" in str(err.value) and "exports/nowhere" in str(err.value)
    assert main(["group", "check", str(path)]) == 2


def test_practices_sharing_an_account_share_its_pool(exports, capsys):
    m = group.load_manifest(_manifest(exports, NORTH + SOUTH))
    assert m.practice("north").pool == m.practice("south").pool == "crm-highlevel-loc-1"
    assert main(["group", "pools", str(m.path)]) == 0
    pools = json.loads(capsys.readouterr().out)
    assert list(pools) == ["crm-highlevel-loc-1"] and pools["crm-highlevel-loc-1"]["slots"] == 1
    assert "north" in pools["crm-highlevel-loc-1"]["description"] and "south" in pools["crm-highlevel-loc-1"]["description"]


def test_the_sample_gate_holds_the_load_until_clean_or_signed_off(exports, capsys):
    m = group.load_manifest(_manifest(exports, NORTH))
    (ws,) = group.prepare(m)
    assert ws.extra["practice_name"] == "north" and ws.runs_dir.is_dir()
    with pytest.raises(SampleGateClosed, match="no mapping"):
        group.sample_gate(ws)
    prepare_mapping(ws)
    with pytest.raises(SampleGateClosed, match="await confirmation"):
        group.sample_gate(ws)
    prepare_mapping(open_workspace(ws.root), accept_proposals=True)
    with pytest.raises(SampleGateClosed, match="no sample"):
        group.sample_gate(ws)
    figures = {"run_id": "r1", "status": "finished", "fields_compared": 40,
               "verdicts": {"equal": 37, "transformed as expected": 0, "mismatch": 3, "missing": 0}}
    (ws.reports_dir / "sample.json").write_text(json.dumps(figures))
    assert main(["group", "gate", str(ws.root)]) == 2
    assert "3 fields mismatch" in capsys.readouterr().err
    assert main(["group", "signoff", str(ws.root), "--by", "Dr. Ruiz"]) == 0
    assert "signed off by Dr. Ruiz" in group.sample_gate(ws)["why"]
    # a newer sample needs its own sign-off
    (ws.reports_dir / "sample.json").write_text(json.dumps({**figures, "run_id": "r2"}))
    with pytest.raises(SampleGateClosed):
        group.sample_gate(ws)
    (ws.reports_dir / "sample.json").write_text(json.dumps({**figures, "run_id": "r3", "verdicts": {"equal": 40}}))
    assert "none mismatched or missing" in group.sample_gate(ws)["why"]


def test_the_rollup_says_where_each_practice_stands(exports):
    m = group.load_manifest(_manifest(exports, NORTH + SOUTH))
    group.prepare(m, "north")
    out = group.rollup(m)
    assert [r["stage"] for r in out["practices"]] == ["prepared", "not started"]
    assert out["reconciled"] == 0 and out["of"] == 2 and out["ok"] is False
    assert json.loads((m.workspaces / "group.json").read_text())["of"] == 2
