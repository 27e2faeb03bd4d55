"""Reconcile's reads against the HighLevel sandbox at the vendor's pace (100 requests per 10 s).

A generated Dent-O-Soft export is loaded into a HighLevel sandbox (its own process) with the
sandbox's rate windows sped up, then the sandbox is put back to real time and the migration is
reconciled, alternating two ways of reading the CRM back, each in a fresh process:

* **bulk** - what ``crm-migrate reconcile`` does: the engine's ``read_back`` (objects listed side
  by side from the engine's workers on the account's limiter; each contact asked once for its
  notes and once for its relations, for every custom object at once);
* **one by one** - the adapter's listings called one object after another with no shared reads
  (each custom object record asked for its relations, notes read again for files), as
  reconcile read before.

For each: read calls (checked against the sandbox's request log), calls per CRM record,
seconds, and the share of the quota used while reading (calls over the seconds the reads took,
against 10 per second). Last, the migration is rolled back (deletes from the engine's workers)
with the sandbox at four times real speed, and the same share is given for it.

Usage::

    .venv/bin/python benchmarks/reconcile_reads.py --patients 200 --repeat 3 --out /tmp/bench-reconcile
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from engine_throughput import TOKEN_ENV, Recorder, Sandbox, make_workspace  # noqa: E402

QUOTA_PER_S = 10.0  # HighLevel: 100 requests per 10 s per location (research highlevel.md §2)


def _rescale(box: Sandbox, time_scale: float) -> None:
    httpx.post(box.url + "/__sandbox/clock", json={"time_scale": time_scale}, headers=box.admin,
               timeout=10).raise_for_status()


def _figures(rec: Recorder, seconds: float, quota_per_s: float) -> dict:
    """Calls, and the share of the quota they used: over the whole span (the opening burst of a
    full window included) and in steady state (after the first ten seconds, when the burst is
    spent and only the window's refill can be used)."""
    calls = len(rec.events)
    t = sorted(e[0] for e in rec.events)
    late = [x for x in t if x - t[0] >= 10.0 / (quota_per_s / QUOTA_PER_S)]
    steady_span = t[-1] - t[0] - 10.0 / (quota_per_s / QUOTA_PER_S) if t else 0
    # requests in each full window of the quota's length, counted from the first request
    window = 10.0 / (quota_per_s / QUOTA_PER_S)
    full = int((t[-1] - t[0]) // window) if t else 0
    per_window = [sum(1 for x in t if k * window <= x - t[0] < (k + 1) * window) for k in range(full)]
    return {"calls": calls, "seconds": round(seconds, 1), "calls_per_s": round(calls / seconds, 2),
            "share_of_quota": round(calls / seconds / quota_per_s, 3),
            "steady_share_of_quota": round(len(late) / steady_span / quota_per_s, 3) if steady_span > 5 else None,
            "full_windows": per_window, "answered_429": sum(1 for e in rec.events if e[1] == 429)}


def one(args) -> None:
    """A child process: read the workspace's CRM back one way, print figures as JSON."""
    from toolkit import Workspace
    from toolkit import workflow as wf
    from toolkit.load.ledger import Ledger
    from toolkit.mapping import MappingSpec, build_plan
    from toolkit.verify import reconcile_run

    ws = Workspace.load(args.workspace)
    rec = Recorder()
    t0 = time.monotonic()
    if args.one == "bulk":
        result = wf.reconcile(ws, client=rec.client)
    else:
        snapshot = ws.read_source()
        plan = build_plan(snapshot, MappingSpec.load(ws.mapping_path), inline_dir=ws.inline_images_dir)
        with Ledger(ws.ledger_path) as ledger:
            result = reconcile_run(snapshot, plan, ledger, ws.connect(rec.client))
    t1 = time.monotonic()
    # the reads proper: from the first call to the last answer (the source read before is no call)
    span = rec.events[-1][0] - rec.events[0][0] if len(rec.events) > 1 else t1 - t0
    records = sum(result.destination_counts.values())
    print(json.dumps({"side": args.one, "crm_records": records, "wall_seconds": round(t1 - t0, 1),
                      **_figures(rec, span, QUOTA_PER_S), "calls_per_crm_record": round(len(rec.events) / records, 3),
                      "load_avg_1min": round(os.getloadavg()[0], 2),
                      # both sides must find the same: the figures the report shows
                      "summary": result.summary()}))


def run(args) -> dict:
    from toolkit import workflow as wf
    from toolkit.sources import registry

    out = Path(args.out).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    export = out / "export"
    registry.get("dent-o-soft")().generate(export, patients=args.patients, seed=args.seed)
    users = json.loads((export / "crm_users.json").read_text())
    results: dict = {"patients": args.patients, "runs": []}
    box = Sandbox(out, "reconcile", users)
    try:
        ws = make_workspace(out, "ws", export, box, users)
        _rescale(box, 20.0)  # load fast; the reads are what is measured
        loaded = wf.migrate(ws, progress=False)
        results["load"] = {"status": loaded.result.status, "counts": loaded.result.counts}
        _rescale(box, 1.0)
        order = ["bulk", "one by one"]
        for i in range(args.repeat):
            for side in (order if i % 2 == 0 else order[::-1]):
                time.sleep(10.5)  # a full window passes, so each side starts with the same burst
                before = len(box.requests())
                child = subprocess.run([sys.executable, __file__, "--one", side, "--workspace", str(ws.root)],
                                       capture_output=True, text=True, env={**os.environ, TOKEN_ENV: box.token})
                if child.returncode:
                    raise SystemExit(child.stderr)
                fig = json.loads(child.stdout.strip().splitlines()[-1])
                fig["sandbox_log_calls"] = len(box.requests()) - before
                print(json.dumps(fig), flush=True)
                results["runs"].append(fig)
        for side in order:
            runs = [r for r in results["runs"] if r["side"] == side]
            results[side] = {k: statistics.median(r[k] for r in runs)
                             for k in ("calls", "calls_per_crm_record", "seconds", "share_of_quota")}
            steady = [r["steady_share_of_quota"] for r in runs if r["steady_share_of_quota"] is not None]
            results[side]["steady_share_of_quota"] = statistics.median(steady) if steady else None
            windows = [w for r in runs for w in r["full_windows"]]
            results[side]["full_window_min_max"] = [min(windows), max(windows)] if windows else None
        # the rollback's deletes, from the engine's workers, at four times the vendor's pace
        _rescale(box, 4.0)
        time.sleep(3)
        rec = Recorder()
        t0 = time.monotonic()
        rb = wf.rollback(ws, progress=False, client=rec.client)
        span = rec.events[-1][0] - rec.events[0][0]
        results["rollback"] = {"status": rb.status, "counts": rb.counts, "wall_seconds": round(time.monotonic() - t0, 1),
                               **_figures(rec, span, QUOTA_PER_S * 4), "load_avg_1min": round(os.getloadavg()[0], 2)}
        print(json.dumps(results["rollback"]), flush=True)
    finally:
        box.stop()
    (out / "results.json").write_text(json.dumps(results, indent=2))
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--patients", type=int, default=200)
    p.add_argument("--repeat", type=int, default=3, help="measurements of each side, alternating")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", default="/tmp/bench-reconcile")
    p.add_argument("--one", choices=["bulk", "one by one"], help=argparse.SUPPRESS)
    p.add_argument("--workspace", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        one(args)
        return
    results = run(args)
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
