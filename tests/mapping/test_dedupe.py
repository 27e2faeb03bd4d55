"""Duplicate patients are found whatever the export calls its columns."""

from __future__ import annotations

import json

import pandas as pd

from toolkit import _paths
from toolkit.mapping import MappingSpec, build_plan, find_duplicates
from toolkit.sources import registry


def test_columns_named_with_spaces_and_dashes():
    df = pd.DataFrame({
        "Contact ID": ["c1", "c2", "c3", "c4"],
        "First Name": ["Robert", "Bob", "Anna", "Robert"],
        "Last Name": ["Lee", "Lee", "Lee", "Lee"],
        "Date of Birth": ["1980-02-03", "1980-02-03", "1980-02-03", "1980-02-03"],
        "E-mail Address": ["rob@example.com", "ROB@example.com ", "anna@example.com", ""],
        "Mobile Phone": ["", "", "", "(503) 555-0101"],
        "Home Phone": ["503-555-0100", "", "503-555-0100", "503.555.0100"],
    })
    found = find_duplicates(df, key_column="Contact ID", first="First Name", last="Last Name", dob="Date of Birth",
                            contact=["E-mail Address", "Mobile Phone", "Home Phone"])
    # Bob is Robert by nickname and shares the address; c4 shares the home phone; Anna is family
    assert found == [("c1", "c2", "same name, birth date and E-mail Address"),
                     ("c1", "c4", "same name, birth date and Home Phone")]


def test_generic_template_skips_the_planted_duplicates(tmp_path):
    src = registry.get("generic-csv")()
    out = src.generate(tmp_path / "g", patients=150, seed=4)
    truth = json.loads((out / "ground_truth.json").read_text(encoding="utf-8"))
    planted = {d["id"]: d["duplicate_of"] for d in truth["defects"] if d["kind"] == "duplicate_contact"}
    assert planted
    spec = MappingSpec.load(_paths.TEMPLATES / "mappings" / "generic-csv__highlevel.yaml")
    spec.accept_proposals()
    plan = build_plan(src.read(out), spec)
    contacts = next(o for o in plan.objects if o.source_object == "contacts")
    skipped = {r.source_key: r.skip_reason for r in contacts.records
               if r.skip_reason and r.skip_reason.startswith("duplicate of")}
    assert set(skipped) == set(planted)
    for dup, kept in planted.items():
        assert skipped[dup].startswith(f"duplicate of {kept} ")
