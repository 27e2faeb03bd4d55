"""A ragged row in an export nobody prepared stops nothing: it is set aside, named, and journaled.

A generic export whose contacts file has one row with too few fields and one with too many goes
through propose → map → migrate → reconcile into a HighLevel sandbox: the audit names both rows by
file and line, every other row moves, and the two end as errors whose reason names the file and
line, so that every source row is accounted for.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import crm_sandbox as sandbox
from toolkit import init_workspace
from toolkit.cli import main
from toolkit.demo import fallback_user
from toolkit.sources import registry
from toolkit.workflow import audit, migrate, open_workspace, prepare_mapping, reconcile

pytestmark = pytest.mark.e2e


def test_ragged_rows_are_set_aside_and_the_rest_moves(tmp_path, monkeypatch):
    export = registry.get("generic-csv")().generate(tmp_path / "export", patients=20, seed=3)
    contacts = export / "contacts.csv"
    raw = contacts.read_bytes()
    lines_before = raw.count(b"\n")
    ragged = b"CT-9998,Too,Few,few@example.com\r\n" + \
        b"CT-9999,Too,Many,many@example.com,2015550100,,01/02/1980,1 Main St,Newark,NJ,07102,,01/01/2020,extra,more\r\n"
    contacts.write_bytes(raw + (b"" if raw.endswith(b"\n") else b"\r\n") + ragged)
    few_line, many_line = lines_before + 1, lines_before + 2
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    with sandbox.start("highlevel", seed={"users": users}, time_scale=20) as box:
        monkeypatch.setenv("QUARANTINE_TOKEN", box.token)
        ws = init_workspace(tmp_path / "ws", source="generic-csv", export=export, destination="highlevel",
                            base_url=box.url, token_env="QUARANTINE_TOKEN", options=box.options,
                            fallback_owner=fallback_user(users))
        report = audit(ws)
        named = {(e["file"], e["row"]) for e in report.read_errors}
        assert {("contacts.csv", few_line), ("contacts.csv", many_line)} <= named
        # the rendered audit says so too: in its summary, and row by row in its own section
        assert main(["audit", str(ws.root)]) == 0
        html = (ws.root / "reports" / "audit.html").read_text(encoding="utf-8")
        assert "2 rows set aside as unreadable" in html and "Rows set aside" in html
        listed = pd.read_csv(ws.root / "reports" / "audit" / "rows_set_aside.csv", dtype=str)
        assert {("contacts.csv", str(few_line)), ("contacts.csv", str(many_line))} <= set(zip(listed.file, listed.line))
        prepare_mapping(ws, accept_proposals=True)
        outcome = migrate(open_workspace(ws.root), progress=False)
        errors = outcome.errors.set_index("source_key")
        assert {f"line {few_line}", f"line {many_line}"} <= set(errors.index)
        assert f"contacts.csv line {few_line}" in errors.loc[f"line {few_line}", "reason"]
        rec = reconcile(open_workspace(ws.root))
        s = rec.summary()
        assert s["unaccounted"] == 0
        assert s["source_records"] == sum(s[k] for k in ("created", "updated", "merged", "excluded", "skipped",
                                                         "errors"))
        # every row of the file is a source record; the two ragged ones are its only errors, and the
        # others moved (created, or merged into the record they duplicate)
        fates = rec.fates[rec.fates.object == "contacts"]
        assert len(fates) == lines_before - 1 + 2  # the header is no record; the two ragged rows are
        assert set(fates[fates.fate == "error"].source_key) == {f"line {few_line}", f"line {many_line}"}
        assert set(fates.fate) <= {"created", "merged", "error"}
        assert not any(c.get("firstName") == "Too" for c in box.state()["contacts"])
