"""Benchmark: how right the proposals are on real exports, and whether the wrong ones say so.

    .venv/bin/python benchmarks/any_export_proposals.py [--set tuned|heldout|all] [--out FILE]

For every folder of ``tests/corpus/`` (``heldout: true`` in its ``expected.yaml`` marks the
folders labelled before the proposer was ever run on them) and every CRM, ``init --source
generic-csv`` and ``propose`` run against a fresh sandbox, and each proposal is scored against the
folder's hand-written labels:

* a route (table -> CRM object): right when the object is of the labelled kind (``person``,
  ``company``, ``deal``, ``activity``, or ``record``: a custom object, or notes on the person
  where the CRM has none). A table labelled ``mixed`` (companies and people in one file) is
  right only as routes split by a rule, one per kind it holds. "Not migrated" is a proposal too.
* a field (column -> field), where the table becomes a standard object: right when the proposed
  concept is one of the column's labels, or when it is made a custom field and the labels say
  ``custom`` or name no field the object has; ``sensitive`` must be left out as sensitive.
* a link (column -> table): right when the labels say that column holds that table's keys.

A proposal is *under the threshold* when its confidence is below ``CONFIRM_THRESHOLD``: the
review shows it first and ``map`` does not take it unconfirmed. Prints, per folder and CRM, the
counts of right, wrong, and wrong under the threshold, with every wrong proposal; ``--out`` keeps
the whole result as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import crm_sandbox as sandbox  # noqa: E402
from toolkit.cli import main  # noqa: E402
from toolkit.mapping import CONFIRM_THRESHOLD, MappingSpec, destination_object  # noqa: E402

CORPUS = ROOT / "tests" / "corpus"
USERS = [{"email": "office@example.com", "firstName": "Kim", "lastName": "Wood", "role": "admin"}]
KINDS = {"contact": "person", "person": "person", "lead": "person", "company": "company", "deal": "deal",
         "activity": "activity", "event": "activity", "task": "activity", "appointment": "activity"}


def _kind(destination: str, om) -> str:
    """The kind of CRM record a route makes: person, company, deal, activity, record, note."""
    if om.target.startswith("custom_object:"):
        return "record"
    kind = destination_object(destination, om.target).kind
    if kind == "note" and any("kept as a note" in (f.reason or "") for f in om.fields):
        return "record"  # a table folded into notes on its person
    return KINDS.get(kind, kind)


def _propose(folder: Path, destination: str, work: Path) -> MappingSpec:
    with sandbox.start(destination, seed={"users": USERS}, time_scale=20) as box:
        os.environ["CORPUS_TOKEN"] = box.token
        ws = work / f"{folder.name}-{destination}"
        args = ["init", str(ws), "--source", "generic-csv", "--export", str(folder), "--destination", destination,
                "--base-url", box.url, "--token-env", "CORPUS_TOKEN", "--fallback-owner", USERS[0]["email"]]
        if (box.options or {}).get("location_id"):
            args += ["--location-id", box.options["location_id"]]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert main(args) == 0 and main(["propose", str(ws)]) == 0
    return MappingSpec.load(ws / "mapping.yaml")


def _field_right(fm, labels: list[str], target) -> bool:
    concept = fm.extra.get("concept")
    if fm.target is None and (fm.reason or "").startswith("the column is empty"):
        return True  # nothing to move: leaving it out loses nothing
    compose = (target.fields.get(fm.target) or {}).get("compose", "") if fm.target else ""
    if fm.template and any("{%s}" % c in compose for c in labels):
        return True  # a first name joined with the last into the object's one name field
    if fm.target is None and (fm.reason or "").startswith("sensitive"):
        return "sensitive" in labels
    standard = [c for c in labels if c not in ("custom", "sensitive") and target.field_for(c)]
    if fm.target and fm.target.startswith("custom:") or fm.target is None and not concept:
        return bool(fm.target) and ("custom" in labels or not standard)
    return concept in labels


def score(folder: Path, destination: str, spec: MappingSpec) -> dict:
    want = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    rows: list[dict] = []

    def add(kind, what, right, confidence, proposed):
        rows.append({"proposal": kind, "what": what, "right": bool(right), "confidence": confidence,
                     "proposed": proposed})

    routes = want.get("routes") or {}
    for om in spec.objects:
        label = routes.get(om.source)
        if label is None:
            continue
        got = _kind(destination, om)
        if isinstance(label, dict) and label.get("kind") == "mixed":
            # right only as one of the routes that split the table by rule, one per kind it holds
            sides = {_kind(destination, o): o.where for o in spec.objects if o.source == om.source}
            ok = set(sides) == set(label["of"]) and all(sides.values())
        else:
            ok = got in (label if isinstance(label, list) else [label])
        add("route", om.source, ok, float(om.extra.get("confidence", 0.0)), f"{om.target} ({got})")
        fields = (want.get("fields") or {}).get(om.source) or {}
        if got in ("person", "company", "deal", "activity") and fields:
            target = destination_object(destination, om.target)
            by_col = {f.source: f for f in om.fields if isinstance(f.source, str)}
            link_cols = {v["column"] for v in om.links.values()}
            for col, labels in fields.items():
                fm = by_col.get(col)
                if fm is None or col in link_cols or om.where and f"`{col}`" in om.where:
                    continue  # a link column is scored as a link, the split's own column with the route
                add("field", f"{om.source}.{col}", _field_right(fm, labels, target), float(fm.confidence or 0.0),
                    fm.target or ("(sensitive)" if (fm.reason or "").startswith("sensitive") else "(left out)"))
    for nm in spec.extra.get("not_migrated") or []:
        label = routes.get(nm["source"])
        if label is not None:
            add("route", nm["source"], False, float(nm.get("confidence", 0.5)), "not migrated")
    links = want.get("links") or {}
    found = set()
    for om in spec.objects:
        for spec_ in om.links.values():
            key = f"{om.source}.{spec_['column']}"
            found.add(key)
            add("link", key, links.get(key) == spec_["object"], float(spec_.get("confidence", 0.0)), spec_["object"])
    wrong = [r for r in rows if not r["right"]]
    return {"folder": folder.name, "destination": destination, "heldout": bool(want.get("heldout")),
            "right": sum(r["right"] for r in rows), "wrong": len(wrong),
            "wrong_under_threshold": sum(r["confidence"] < CONFIRM_THRESHOLD for r in wrong),
            "right_under_threshold": sum(r["right"] and r["confidence"] < CONFIRM_THRESHOLD for r in rows),
            "links_missed": sorted(set(links) - found), "wrong_proposals": wrong, "proposals": rows}


def main_() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="all", choices=["tuned", "heldout", "all"])
    ap.add_argument("--out", help="write the whole result here as JSON")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="proposals-"))
    out = []
    for folder in sorted(p for p in CORPUS.iterdir() if (p / "expected.yaml").is_file()):
        held = bool(yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8")).get("heldout"))
        if args.set != "all" and held != (args.set == "heldout"):
            continue
        for destination in ("highlevel", "freshsales", "pipedrive"):
            out.append(score(folder, destination, _propose(folder, destination, work)))
    print("| folder → CRM | held out | proposals | right | wrong | wrong under the threshold | right under the threshold |")
    print("|---|---|---|---|---|---|---|")
    for r in out:
        print(f"| {r['folder']} → {r['destination']} | {'yes' if r['heldout'] else 'no'} | {r['right'] + r['wrong']} | "
              f"{r['right']} | {r['wrong']} | {r['wrong_under_threshold']} | {r['right_under_threshold']} |")
    for held in (False, True):
        part = [r for r in out if r["heldout"] == held]
        if part:
            w = sum(r["wrong"] for r in part)
            u = sum(r["wrong_under_threshold"] for r in part)
            print(f"{'held out' if held else 'tuned on'}: {sum(r['right'] for r in part)} right, {w} wrong, "
                  f"{u} of the wrong under the threshold ({u / w:.0%})" if w else
                  f"{'held out' if held else 'tuned on'}: {sum(r['right'] for r in part)} right, 0 wrong")
    for r in out:
        for w in r["wrong_proposals"]:
            print(f"wrong: {r['folder']} → {r['destination']}: {w['proposal']} {w['what']} -> {w['proposed']} "
                  f"(confidence {w['confidence']:.2f})")
        for m in r["links_missed"]:
            print(f"missed link: {r['folder']} → {r['destination']}: {m}")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
