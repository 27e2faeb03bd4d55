"""workspace.yaml and mapping.yaml are checked against their schemas: typos, unknown targets and
wrong types are refused with the file, the line and the key most likely meant; everything the
toolkit itself writes passes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from toolkit.config_schema import ENGINE_KEYS
from toolkit.errors import ConfigError, MappingError
from toolkit.mapping import MappingSpec, propose_mapping
from toolkit.sources import registry
from toolkit.workflow import ENGINE_DEFAULTS
from toolkit.workspace import Workspace, init_workspace

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates" / "mappings").glob("*.yaml"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
def test_every_template_passes_its_schema(template, tmp_path):
    copy = tmp_path / "mapping.yaml"
    shutil.copy(template, copy)
    spec = MappingSpec.load(copy)
    assert spec.objects
    # and what the toolkit writes back of it passes too
    spec.save(copy)
    MappingSpec.load(copy)


@pytest.mark.parametrize("source", ["dent-o-soft", "dental-exec", "practice-by-numbers"])
@pytest.mark.parametrize("destination", ["highlevel", "freshsales", "pipedrive"])
def test_every_proposal_passes_its_schema(source, destination, tmp_path):
    export = registry.get(source)().generate(tmp_path / "export", patients=20, seed=1)
    snapshot = registry.get(source)().read(export)
    spec = propose_mapping(snapshot, destination)
    spec.save(tmp_path / "mapping.yaml")
    assert MappingSpec.load(tmp_path / "mapping.yaml").objects


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.yaml"
    shutil.copy(ROOT / "templates" / "mappings" / "dent-o-soft__highlevel.yaml", path)
    return path


def test_a_misspelt_mapping_key_is_refused_with_its_line_and_the_key_meant(tmp_path):
    path = _mapping(tmp_path)
    text = path.read_text()
    path.write_text(text.replace(", reason:", ", reasn:", 1))
    with pytest.raises(MappingError) as err:
        MappingSpec.load(path)
    msg = str(err.value)
    assert f"{path}:{_line_of(path, 'reasn:')}:" in msg
    assert "unknown key 'reasn' (did you mean 'reason'?)" in msg


def test_an_unknown_target_is_refused_with_the_field_meant(tmp_path):
    path = _mapping(tmp_path)
    path.write_text(path.read_text().replace("target: firstName", "target: firstNme", 1))
    with pytest.raises(MappingError) as err:
        MappingSpec.load(path)
    msg = str(err.value)
    assert f"{path}:{_line_of(path, 'target: firstNme')}:" in msg
    assert "target 'firstNme' is not a field of highlevel contact (did you mean 'firstName'?)" in msg
    # a route target one letter off one of the destination's objects
    path.write_text(path.read_text().replace("target: firstNme", "target: firstName")
                    .replace("target: opportunity", "target: oportunity", 1))
    with pytest.raises(MappingError, match=r"'oportunity' is not a highlevel object \(did you mean 'opportunity'\?\)"):
        MappingSpec.load(path)


def test_wrong_types_and_values_are_refused(tmp_path):
    path = _mapping(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["objects"][0]["fields"][0]["confidence"] = "high"
    data["objects"][0]["fields"][1]["status"] = "confirmd"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(MappingError) as err:
        MappingSpec.load(path)
    msg = str(err.value)
    assert "confidence: 'high' is not of type 'number'" in msg
    assert "status: 'confirmd' is not one of ['proposed', 'confirmed', 'excluded'] (did you mean 'confirmed'?)" in msg
    assert "2 problems" in msg


def test_workspace_typos_are_refused_and_the_cli_says_where(tmp_path):
    export = registry.get("dent-o-soft")().generate(tmp_path / "export", patients=20, seed=1)
    ws = init_workspace(tmp_path / "ws", source="dent-o-soft", export=export, destination="highlevel",
                        options={"location_id": "loc"}, fallback_owner="owner@example.org")
    Workspace.load(ws.root)  # what init writes passes
    path = ws.root / "workspace.yaml"
    path.write_text(path.read_text().replace("fallback_user_email", "fallback_user_emial") + "engine: {workers: many}\n")
    with pytest.raises(ConfigError) as err:
        Workspace.load(ws.root)
    msg = str(err.value)
    assert f"{path}:{_line_of(path, 'fallback_user_emial')}: owner_resolution: unknown key 'fallback_user_emial' " \
           "(did you mean 'fallback_user_email'?)" in msg
    assert "engine workers: 'many' is not of type 'integer'" in msg
    done = subprocess.run([sys.executable, "-m", "toolkit.cli", "status", str(ws.root)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "did you mean 'fallback_user_email'" in done.stderr


def test_the_engine_block_schema_names_every_engine_setting():
    assert set(ENGINE_KEYS) == set(ENGINE_DEFAULTS) | {"note_unchanged"}
