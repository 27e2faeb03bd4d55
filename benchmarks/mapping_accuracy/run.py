"""Measured accuracy of the mapping proposer, and of `valentine` on the same set.

    .venv/bin/python benchmarks/mapping_accuracy/run.py [--set dev|heldout|heldout2|heldout3|heldout4|all] [--out NAME] [--valentine PYTHON]

``--set`` picks the layouts scored: ``dev`` (``layouts/``; the default), ``heldout``
(``layouts_heldout/``), ``heldout2`` (``layouts_heldout2/``), ``heldout3`` (``layouts_heldout3/``),
``heldout4`` (``layouts_heldout4/``, the set not tuned on) or ``all`` (``tuning`` is the same: the
first four folders, the layouts tuned on). PYTHON is an interpreter that has
`valentine` installed (it is not a dependency of the toolkit; see README.md); valentine is run on
the same set. Writes results.json (dev), results_heldout.json or results_all.json beside this
file, or NAME when given, and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evalset import HERE, PHONES, SETS, gold_targets, layouts, score, settle_shared_golds, target_label  # noqa: E402

from toolkit.mapping import CONFIRM_THRESHOLD, destination_object, propose_fields  # noqa: E402
from toolkit.mapping._catalog import standard_concepts  # noqa: E402


def _fields(lay: dict) -> dict:
    return destination_object(lay["destination"], lay["object"]).fields


def ours(which: str = "dev") -> list[dict]:
    """Our proposer's target for every column of one set of layouts, with the gold target."""
    rows = []
    for lay in layouts(which):
        target = destination_object(lay["destination"], lay["object"])
        evidence: dict[str, dict] = {}
        fields, _ = propose_fields(lay["table"], target, key=lay["key"], evidence_out=evidence)
        by_col = {f.source: f for f in fields if isinstance(f.source, str)}
        gold = gold_targets(lay, target.fields)
        for col, want in gold.items():
            fm = by_col[col]
            via = target.fields.get(target.field_for(fm.extra.get("concept") or "") or "", {}).get("via")
            got = target.field_for(fm.extra["concept"]) if via else fm.target  # a stage column sets the stage
            rows.append({"layout": lay["layout"], "column": col, "gold": want,
                         "predicted": target_label(got, fm.target is None and fm.reason.startswith("sensitive")),
                         "confidence": fm.confidence, "target": fm.target, "reason": fm.reason,
                         "evidence": evidence.get(col)})
    return rows


def valentine_rows(raw: list[dict], which: str = "dev") -> list[dict]:
    """Valentine's concept per column as a target on the same object (the same rule as the gold)."""
    lays = {lay["layout"]: lay for lay in layouts(which)}
    rows = []
    for r in raw:
        lay = lays[r["layout"]]
        fields = _fields(lay)
        gold = gold_targets(lay, fields)
        concept = r["concept"]
        by_concept = {f["concept"]: n for n, f in fields.items() if f.get("concept")}
        got = by_concept.get(concept)
        if got is None and concept in PHONES:
            got = next((by_concept[p] for p in PHONES if p in by_concept), None)
        rows.append({"layout": r["layout"], "column": r["column"], "gold": gold[r["column"]],
                     "predicted": target_label(got, False), "confidence": r["confidence"]})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", dest="which", choices=sorted(SETS), default="dev", help="which layouts to score")
    ap.add_argument("--out", help="file name for the results, beside this script")
    ap.add_argument("--valentine", help="a Python interpreter with valentine installed")
    ap.add_argument("--only", nargs="*", help="also print the figures for these layouts alone")
    args = ap.parse_args()
    started = time.time()
    rows = ours(args.which)
    results = {"set": args.which, "threshold": CONFIRM_THRESHOLD, "ours": score(rows, CONFIRM_THRESHOLD) | {
        "seconds": round(time.time() - started, 1)}, "ours_rows": rows}
    if args.valentine:
        proc = subprocess.run([args.valentine, str(HERE / "run_valentine.py")], input=json.dumps(
            {"standard": sorted(standard_concepts()), "set": args.which}), capture_output=True, text=True,
            timeout=3600)
        if proc.returncode:
            results["valentine"] = {"error": proc.stderr[-500:]}
        else:
            results["valentine"] = {name: (score(valentine_rows(r["rows"], args.which), CONFIRM_THRESHOLD) | {"seconds": r["seconds"]}
                                           if "rows" in r else r) for name, r in json.loads(proc.stdout).items()}
    out = args.out or {"dev": "results.json"}.get(args.which, f"results_{args.which}.json")
    (HERE / out).write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    summary = {"ours": {k: v for k, v in results["ours"].items() if k != "per_layout"}}
    for name, r in (results.get("valentine") or {}).items():
        summary[f"valentine {name}"] = {k: v for k, v in r.items() if k != "per_layout"} if isinstance(r, dict) else r
    print(json.dumps(summary, indent=1))
    if args.only:
        print(json.dumps(score([r for r in rows if r["layout"] in args.only], CONFIRM_THRESHOLD), indent=1))
    for r in settle_shared_golds(rows):
        if r["gold"] != r["predicted"]:
            print(f"  wrong: {r['layout']}.{r['column']}: gold {r['gold']}, proposed {r['predicted']} "
                  f"({r['confidence']:.2f}) -> {r['target']}: {r['reason']}")


if __name__ == "__main__":
    main()
