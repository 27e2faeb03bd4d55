"""How long build_plan takes on a large Dent-O-Soft export under the default HighLevel template.

    .venv/bin/python benchmarks/build_plan/run.py --patients 20000 [--export DIR]

Generates the export (unless --export names one), reads it, confirms the template's proposals
and times build_plan alone (no network: the plan is pure). Prints records per second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from toolkit.mapping import MappingSpec, build_plan
from toolkit.sources import registry

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "mappings" / "dent-o-soft__highlevel.yaml"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--export")
    args = ap.parse_args()
    source = registry.get("dent-o-soft")()
    export = args.export or str(Path(tempfile.mkdtemp()) / "export")
    if not args.export:
        source.generate(export, patients=args.patients, seed=7)
    snapshot = source.read(export)
    spec = MappingSpec.load(TEMPLATE)
    spec.accept_proposals()
    started = time.perf_counter()
    plan = build_plan(snapshot, spec)
    seconds = time.perf_counter() - started
    records = sum(plan.counts().values())
    print(f"{snapshot.counts()['patients']} patients, {records} planned records in {seconds:.1f} s "
          f"({records / seconds:,.0f} records/s): {plan.counts()}")


if __name__ == "__main__":
    main()
