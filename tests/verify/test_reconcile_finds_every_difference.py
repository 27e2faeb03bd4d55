"""Reconcile reads each CRM back on its own and names, by source key and field, every way the CRM
was made to differ after a clean load: a record deleted, a value edited, a second record carrying
an existing Source ID, a deal's amount raised, a record the ledger never knew, a record deleted
in the source. A clean load is ok; each tampering makes it not ok."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
import yaml

import crm_sandbox as sandbox
from toolkit import workflow as wf
from toolkit.demo import fallback_user
from toolkit.destinations import Record
from toolkit.load import Ledger
from toolkit.sources import registry
from toolkit.workspace import init_workspace

pytestmark = pytest.mark.e2e

#: per CRM: the source, the routes kept, the person route, the deal route, its amount field
PAIRS = {
    "highlevel": ("dent-o-soft", {"patients": "contact", "appointments": "opportunity"}, "patients", "contact",
                  "appointments",
                  "opportunity", "monetaryValue", "email", "PatientID"),
    "freshsales": ("dental-exec", {"practices": "sales_account", "contacts": "contact", "treatment_cases": "deal"},
                   "contacts", "contact", "treatment_cases", "deal", "amount", "email", "ContactID"),
    "pipedrive": ("dental-exec", {"practices": "organization", "contacts": "person", "treatment_cases": "deal"},
                  "contacts", "person", "treatment_cases", "deal", "value", "name", "ContactID"),
}


def _read(path: Path) -> tuple[list[dict], str]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return list(csv.DictReader(io.StringIO(raw.decode(enc)))), enc
        except UnicodeDecodeError:
            continue
    raise AssertionError(path)


def _write(path: Path, rows: list[dict], enc: str) -> None:
    with open(path, "w", encoding="utf-8" if enc == "utf-8-sig" else enc, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\r\n")
        w.writeheader()
        w.writerows(rows)


def _clean(export: Path, people: str, key: str, children: list[str]) -> None:
    """Drop the planted broken references, so that a clean load has nothing to report."""
    keep = {r[key] for r in _read(export / f"{people}.csv")[0]}
    for child in children:
        rows, enc = _read(export / f"{child}.csv")
        _write(export / f"{child}.csv", [r for r in rows if r.get(key) in keep and r.get("PatientID", r.get(key)) in keep],
               enc)


@pytest.fixture(params=list(PAIRS), scope="module")
def loaded(request, tmp_path_factory):
    dest_name = request.param
    source, routes, people, person, deals, deal, amount, edit_field, key = PAIRS[dest_name]
    tmp = tmp_path_factory.mktemp(dest_name)
    export = registry.get(source)().generate(tmp / "export", patients=20, seed=4)
    _clean(export, people, key, [deals])
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    mp = pytest.MonkeyPatch()
    with sandbox.start(dest_name, seed={"users": users}, time_scale=200, burst=100_000) as box:
        mp.setenv("RECON_TOKEN", box.token)
        ws = init_workspace(tmp / "ws", source=source, export=export, destination=dest_name, base_url=box.url,
                            token_env="RECON_TOKEN", options=box.options, fallback_owner=fallback_user(users))
        wf.prepare_mapping(ws, accept_proposals=True)
        data = yaml.safe_load(ws.mapping_path.read_text(encoding="utf-8"))
        data["objects"] = [o for o in data["objects"] if routes.get(o["source"]) == o["target"]]
        data["objects"] = [{**o, "skip": [s for s in o.get("skip", []) if "Deceased" not in s.get("where", "")]}
                           for o in data["objects"]]
        data.pop("carried", None)
        data["not_migrated"] = [{"source": t, "reason": "outside this test"} for t in registry.get(source)().read(export).tables
                                if t not in routes]
        ws.mapping_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        out = wf.migrate(ws, progress=False)
        assert out.result.status == "finished"
        yield {"ws": ws, "box": box, "dest": ws.connect(), "person": person, "deal": deal, "amount": amount,
               "edit": edit_field, "people": people, "deals": deals, "export": export}
    mp.undo()


def _findings(rec) -> set[tuple[str, str, str | None]]:
    return {(f["kind"], f["source_key"], f["field"]) for f in rec.findings.to_dict("records")}


def test_a_clean_load_is_ok_and_every_tampering_is_named(loaded):
    ws, dest = loaded["ws"], loaded["dest"]
    clean = wf.reconcile(ws)
    assert clean.summary()["ok"], (clean.look_first(), clean.findings.head().to_dict("records"))
    with Ledger(ws.ledger_path) as ledger:
        people = sorted(ledger.id_map(loaded["people"], loaded["person"]).items())
        deals = sorted(ledger.id_map(loaded["deals"], loaded["deal"]).items())
    (gone_key, (gone_id, _)), (edit_key, (edit_id, _)) = people[0], people[1]
    dup_key = people[2][0]
    # someone works in the CRM: deletes a contact, edits another, raises a deal, adds a second
    # record carrying an existing Source ID and one carrying a Source ID nobody planned
    dest.delete(loaded["person"], gone_id)
    before = dest.get(loaded["person"], edit_id)
    new_value = "changed.in.crm@example.org" if loaded["edit"] == "email" else "Changed In Crm"
    dest.update(Record(loaded["person"], id=edit_id, fields={loaded["edit"]: new_value}))
    # a CRM may take a deleted contact's deals with it: raise one that is still there
    deal_key, deal_id, deal = next((k, i, d) for k, (i, _) in deals
                                   if (d := dest.get(loaded["deal"], i)) is not None)
    raised = float(deal.fields[loaded["amount"]]) + 1000
    dest.update(Record(loaded["deal"], id=deal_id, fields={loaded["amount"]: raised}))
    name_fields = {k: v for k, v in before.fields.items() if k in ("firstName", "lastName", "first_name", "last_name",
                                                                     "name")}
    dest.create(Record(loaded["person"], fields={**name_fields, **({"email": "dup.copy@example.org"}
                                                                   if loaded["edit"] == "email" else {})},
                       custom={"source_id": dup_key}))
    dest.create(Record(loaded["person"], fields={**name_fields, **({"email": "stray@example.org"}
                                                                   if loaded["edit"] == "email" else {})},
                       custom={"source_id": "NOT-IN-THIS-EXPORT"}))
    # and the practice deletes a patient in its system
    rows, enc = _read(loaded["export"] / f"{loaded['people']}.csv")
    removed = people[3][0]
    _write(loaded["export"] / f"{loaded['people']}.csv", [r for r in rows if list(r.values())[0] != removed], enc)

    rec = wf.reconcile(ws)
    got = _findings(rec)
    s = rec.summary()
    assert not s["ok"] and rec.look_first()
    assert ("missing in the CRM", gone_key, None) in got
    assert ("edited in the CRM", edit_key, loaded["edit"]) in got
    assert ("edited in the CRM", deal_key, loaded["amount"]) in got
    assert ("duplicate Source ID", dup_key, None) in got
    assert ("unknown to the ledger", "NOT-IN-THIS-EXPORT", None) in got
    assert ("deleted in the source", removed, None) in got
    assert s["totals_off"] >= 1
    figures = json.loads((ws.reports_dir / "reconcile.json").read_text())
    assert figures["summary"] == s and len(figures["findings"]) == len(rec.findings)
