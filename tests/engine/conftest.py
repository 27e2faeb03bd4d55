"""Helpers for engine tests against the HighLevel sandbox: a generated export, workspaces, and the
sandbox state reduced to what a migration decides (no ids, no server timestamps)."""

from __future__ import annotations

import collections
import csv
import json
import re
import shutil
from pathlib import Path

import pytest

import crm_sandbox as sandbox
from toolkit import init_workspace
from toolkit.demo import fallback_user
from toolkit.sources import registry
from toolkit.workflow import prepare_mapping

TOKEN_ENV = "HIGHLEVEL_TOKEN"
#: values the server sets on every write; a restore cannot (and need not) give them back
SERVER_STAMPS = {"dateAdded", "dateUpdated", "updatedAt", "createdAt", "lastStatusChangeAt", "lastStageChangeAt"}


@pytest.fixture(scope="session")
def export_template(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "export"
    registry.get("dent-o-soft")().generate(out, patients=24, seed=3)
    return out


@pytest.fixture
def export(export_template, tmp_path) -> Path:
    """A private copy of the generated export (tests edit it)."""
    dst = tmp_path / "export"
    shutil.copytree(export_template, dst)
    return dst


def users_of(export: Path) -> list[dict]:
    return json.loads((export / "crm_users.json").read_text(encoding="utf-8"))


def start_box(export: Path, **options):
    return sandbox.start("highlevel", seed={"users": users_of(export)}, **options)


def make_workspace(root: Path, export: Path, box, monkeypatch, staging=None, engine: dict | None = None):
    monkeypatch.setenv(TOKEN_ENV, box.token)
    ws = init_workspace(root, source="dent-o-soft", export=export, destination="highlevel", base_url=box.url,
                        token_env=TOKEN_ENV, options=box.options, fallback_owner=fallback_user(users_of(export)))
    if staging is not None:
        ws.extra["staging"] = {"base_url": staging.url, "token_env": TOKEN_ENV, "options": staging.options}
    if engine:
        ws.extra["engine"] = engine
    ws.save()
    prepare_mapping(ws, accept_proposals=True)
    return ws


def without_stamps(state: dict) -> dict:
    """The state with server timestamps dropped (derived fields recomputed on restore stay)."""
    def clean(rec):
        return {k: v for k, v in rec.items() if k not in SERVER_STAMPS}
    out = dict(state)
    out["contacts"] = sorted((clean(c) for c in state["contacts"]), key=lambda c: c["id"])
    out["opportunities"] = sorted(({**clean(o), "contact": {k: v for k, v in o.get("contact", {}).items()}}
                                   for o in state["opportunities"]), key=lambda o: o["id"])
    return out


def by_source_id(state: dict) -> dict[str, dict[str, dict]]:
    """{"contacts"|"opportunities": {source id: record}} with ids replaced by source ids and
    custom fields keyed by their field key, so two sandboxes' states compare."""
    keys = {f["id"]: f["fieldKey"] for f in state["customFields"]}
    sid_of = {}
    out: dict[str, dict[str, dict]] = {}
    for kind in ("contacts", "opportunities"):
        table: dict[str, dict] = {}
        for rec in state[kind]:
            custom = {keys[c["id"]]: c.get("value", c.get("fieldValue")) for c in rec.get("customFields", [])}
            sid = custom[f"{'contact' if kind == 'contacts' else 'opportunity'}.source_id"]
            assert sid not in table, f"duplicate {kind} for source id {sid}"
            sid_of[rec["id"]] = sid
            body = {k: v for k, v in rec.items() if k not in SERVER_STAMPS | {"id", "customFields", "contact"}}
            table[sid] = {**body, "custom": custom}
        out[kind] = table
    for opp in out["opportunities"].values():
        opp["contactId"] = sid_of.get(opp["contactId"], opp["contactId"])
    return out


def request_count(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def rewrite_csv(path: Path, edit) -> None:
    """Apply ``edit(rows) -> rows`` to an export CSV, written back as the export writes it."""
    raw = path.read_bytes()
    try:
        text, enc = raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, enc = raw.decode("cp1252"), "cp1252"
    rows = list(csv.DictReader(text.splitlines(keepends=True)))
    columns = list(rows[0].keys()) if rows else next(csv.reader([text.splitlines()[0]]))
    rows = edit(rows)
    with open(path, "w", encoding=enc, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


#: what a HighLevel rollback leaves: a custom object's definition cannot be deleted through the API
DEFINITIONS = ("objects", "customFieldsV2", "customFieldFolders", "associations")


def assert_rolled_back(before: dict, after: dict) -> set[str]:
    """Assert ``after`` (a HighLevel sandbox state) equals ``before`` but for the custom-object
    definitions a run made - each schema with the primary property, folder and contact
    association that came with it - and return those schema keys."""
    schemas = {o["key"] for o in after["objects"]}
    assert all(before[k] == [] for k in DEFINITIONS)
    assert sorted(f["objectKey"] for f in after["customFieldsV2"]) == sorted(schemas)  # one primary each
    assert {f["objectKey"] for f in after["customFieldFolders"]} <= schemas
    assert all({a["firstObjectKey"], a["secondObjectKey"]} & schemas for a in after["associations"])
    assert {k: v for k, v in after.items() if k not in DEFINITIONS} == \
        {k: v for k, v in before.items() if k not in DEFINITIONS}
    return schemas


_SID_LINE = re.compile(r"(?:^|\n)Source ID: (\S+)\s*$")


def _text_sid(text) -> str | None:
    m = _SID_LINE.search(text or "")
    return m.group(1) if m else None


def holdings(state: dict) -> collections.Counter:
    """(kind, Source ID) -> how many records carry it, over every kind a HighLevel load writes."""
    keys = {f["id"]: f["fieldKey"] for f in state["customFields"]}
    out: collections.Counter = collections.Counter()
    for kind in ("contacts", "opportunities"):
        for rec in state[kind]:
            custom = {keys.get(c["id"], c["id"]): c.get("value", c.get("fieldValue")) for c in rec.get("customFields", [])}
            sid = next((v for k, v in custom.items() if k.endswith(".source_id")), None)
            out[(kind, sid)] += 1
    for rec in state.get("businesses", []):
        props = rec.get("properties") or {}
        out[("businesses", props.get("source_id") or rec.get("source_id"))] += 1
    for rec in state.get("records", []):
        out[(rec.get("objectKey") or "records", (rec.get("properties") or {}).get("source_id"))] += 1
    for kind, text in (("events", "description"), ("tasks", "body"), ("notes", "body")):
        for rec in state.get(kind, []):
            out[(kind, _text_sid(rec.get(text)))] += 1
    out[("media", None)] = len(state.get("media", []))
    out[("relations", None)] = len(state.get("relations", []))
    return out


def duplicates(state: dict) -> dict:
    return {k: n for k, n in holdings(state).items() if k[1] is not None and n > 1}


def orphans(state: dict, ledger_path: Path) -> list[str]:
    """Destination records whose id the ledger does not know (custom-object records, contacts,
    opportunities, events: the kinds a ledger maps by their own id)."""
    from toolkit import Ledger

    with Ledger(ledger_path) as ledger:
        known = {d for _, _, _, d in ledger.mapped()}
    ids = [r["id"] for k in ("contacts", "opportunities", "events", "records") for r in state.get(k, [])]
    return [i for i in ids if i not in known]
