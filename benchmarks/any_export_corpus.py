"""Benchmark: the real exports in ``tests/corpus/`` through propose, map, migrate and reconcile.

    .venv/bin/python benchmarks/any_export_corpus.py

For every corpus folder and every CRM (each against a fresh sandbox in this process): the source
rows, their fates after the load (created, merged, excluded by the mapping, errors — the
quarantined rows among them, with their reasons), whether reconcile accounts for every row, and
the links the proposer found, each checked against the folder's ``expected.yaml`` (written from
the files' own keys): right, wrong, or missed. Prints one JSON document.
"""

from __future__ import annotations

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
from toolkit.mapping import MappingSpec  # noqa: E402
from toolkit.workflow import open_workspace, reconcile  # noqa: E402

CORPUS = ROOT / "tests" / "corpus"
USERS = [{"email": "office@example.com", "firstName": "Kim", "lastName": "Wood", "role": "admin"}]


def one(folder: Path, destination: str, work: Path) -> dict:
    expected = yaml.safe_load((folder / "expected.yaml").read_text())
    with sandbox.start(destination, seed={"users": USERS}, time_scale=20) as box:
        os.environ["CORPUS_TOKEN"] = box.token
        ws = work / f"{folder.name}-{destination}"
        args = ["init", str(ws), "--source", "generic-csv", "--export", str(folder), "--destination", destination,
                "--base-url", box.url, "--token-env", "CORPUS_TOKEN", "--fallback-owner", "office@example.com"]
        if (box.options or {}).get("location_id"):
            args += ["--location-id", box.options["location_id"]]
        codes = {}
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            codes["init"] = main(args)
            for step in (["propose"], ["map", "--accept-proposals"], ["migrate"], ["reconcile"]):
                codes[step[0]] = main([step[0], str(ws), *step[1:]])
        rec = reconcile(open_workspace(ws))
    spec = MappingSpec.load(ws / "mapping.yaml")
    found = {f"{o.source}.{v['column']}": (v["object"], v.get("coverage"), v.get("confidence"))
             for o in spec.objects for v in o.links.values()}
    want = expected["links"]
    right = sorted(k for k, v in found.items() if want.get(k) == v[0])
    wrong = sorted(k for k, v in found.items() if want.get(k) != v[0])
    fates = rec.fates
    errors = fates[fates.fate == "error"]
    return {"folder": folder.name, "destination": destination, "exit_codes": codes,
            "routes": {o.source: o.target for o in spec.objects},
            "not_migrated": [n["source"] for n in spec.extra.get("not_migrated") or []],
            "source_rows": int(len(fates)), "fates": fates.fate.value_counts().to_dict(),
            "quarantined": [r for r in errors.reason if " line " in r and "set aside" in r],
            "other_errors": [r for r in errors.reason if not (" line " in r and "set aside" in r)],
            "unaccounted": rec.summary()["unaccounted"],
            "links_right": right, "links_wrong": wrong, "links_missed": sorted(set(want) - set(found)),
            "link_evidence": {k: list(v) for k, v in found.items()}}


def main_() -> int:
    work = Path(tempfile.mkdtemp(prefix="corpus-"))
    out = [one(folder, dest, work) for folder in sorted(p for p in CORPUS.iterdir() if (p / "expected.yaml").is_file())
           for dest in ("highlevel", "freshsales", "pipedrive")]
    print(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main_())
