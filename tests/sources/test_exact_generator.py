"""The synthetic EXACT division: deterministic, UK-shaped, defects planted at the stated rates."""

from __future__ import annotations

import filecmp
import json
import re

import pytest

from toolkit.sources.exact import generator as g
from toolkit.sources.exact._activity import UNMAPPED_STAGE_RATE


@pytest.fixture(scope="module")
def division(tmp_path_factory):
    out = g.generate(tmp_path_factory.mktemp("gen") / "a", patients=200, seed=3)
    load = lambda name: json.loads((out / "dataset" / f"{name}.json").read_text())  # noqa: E731
    return out, load, json.loads((out / "ground_truth.json").read_text())


def test_same_seed_same_bytes_other_seed_other_data(division, tmp_path):
    out, _, _ = division
    again = g.generate(tmp_path / "b", patients=200, seed=3)
    cmp = filecmp.dircmp(out / "dataset", again / "dataset")
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only
    assert filecmp.cmp(out / "ground_truth.json", again / "ground_truth.json", shallow=False)
    other = g.generate(tmp_path / "c", patients=200, seed=4)
    assert not filecmp.cmp(out / "dataset" / "Contacts.json", other / "dataset" / "Contacts.json", shallow=False)


def test_defects_are_planted_at_the_stated_rates(division):
    _, _, truth = division
    kinds = {}
    for d in truth["defects"]:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    n = 200
    assert kinds["missing_email"] == round(g.MISSING_EMAIL_RATE * n)
    assert kinds["invalid_email"] == round(g.INVALID_EMAIL_RATE * n)
    assert kinds["malformed_phone"] == round(g.MALFORMED_PHONE_RATE * n)
    assert kinds["duplicate_contact"] == round(g.DUPLICATE_RATE * n) == len(truth["duplicate_pairs"])
    assert kinds["free_text_date_layout"] == round(g.FREE_TEXT_DATE_RATE * n)
    assert kinds["missing_name"] == 1 and kinds["circular_parent"] == 1 and kinds["broken_reference"] == 1
    opps = truth["counts"]["Opportunities"]
    assert kinds["unmapped_stage"] == max(1, round(UNMAPPED_STAGE_RATE * opps))
    assert kinds["user_unmatched"] == kinds["oversized_attachment"] == 1


def test_practice_is_british_and_reaches_no_real_person(division):
    out, load, truth = division
    manifest = json.loads((out / "dataset" / "manifest.json").read_text())
    assert (manifest["country"], manifest["currency"]) == ("GB", "GBP")
    bad = {d["id"] for d in truth["defects"]}
    for c in load("Contacts"):
        if c["ID"] in bad:
            continue
        for f in ("Phone", "Mobile", "BusinessPhone"):
            assert c[f] is None or c[f].startswith("+44 ")
        domain = (c["Email"] or "x@example.com").split("@")[1]
        assert domain.endswith(".example") or domain.startswith("example.")  # reserved for examples
        if c["FreeTextField_02"]:
            assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", c["FreeTextField_02"])  # dd/mm/yyyy as staff type it
    for a in load("Accounts"):
        assert re.fullmatch(r"[A-Z]{1,2}\d{1,2} \d[A-Z]{2}", a["Postcode"]) and len(a["Code"]) == 18
    assert any(a["Parent"] for a in load("Accounts"))
    crm = json.loads((out / "crm_users.json").read_text())
    unmatched = next(d["value"] for d in truth["defects"] if d["kind"] == "user_unmatched")
    assert unmatched not in {u["email"] for u in crm} and all(len(u["id"]) == 20 for u in crm)


def test_every_reference_points_at_a_record_except_the_planted_one(division):
    _, load, truth = division
    ids = {e: {r["UserID" if e == "Users" else "ID"] for r in load(e)}
           for e in ("Users", "Accounts", "Contacts", "Opportunities", "Documents")}
    for c in load("Contacts"):
        assert c["Account"] in ids["Accounts"]
    for o in load("Opportunities"):
        assert o["Account"] in ids["Accounts"] and o["Owner"] in ids["Users"]
        assert o["Contact"] is None or o["Contact"] in ids["Contacts"]
    for t in load("Tasks") + load("Events"):
        assert t["User"] in ids["Users"] and t["Contact"] in ids["Contacts"]
    for f in load("DocumentAttachments"):
        assert f["Document"] in ids["Documents"]
    broken = {a["ID"] for a in load("Accounts") if a["Parent"] and a["Parent"] not in ids["Accounts"]}
    assert broken == {d["id"] for d in truth["defects"] if d["kind"] == "broken_reference"}


def test_too_few_patients_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 20"):
        g.generate(tmp_path, patients=5, seed=1)
