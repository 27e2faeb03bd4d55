"""Benchmark: the demo migration end to end, and how each API step uses the destination's quota.

    .venv/bin/python benchmarks/demo_windows.py --patients 500 --time-scale 4 --out /tmp/bench-demo

Runs ``crm-migrate demo`` (Dent-O-Soft -> HighLevel by default; every step notebook, as
``make demo`` does) in a fresh process with the destination sandbox's request log on, timing
each step as its "done" line appears. Then, from the sandbox's own log (each request's time to the
millisecond), for every step that calls the account:

* requests, and requests per CRM record at the end (the records reconcile counted);
* requests in every full rate window (10 s of the vendor's time: 10 / ``time_scale`` s of ours),
  counted from the step's first request, as a share of the burst quota (100), and the share
  answered 429;

and the estimate's promised calls against the requests the log saw. The sample writes to a
staging account of its own (a second sandbox with a log of its own, ``<name>.staging.jsonl``):
its requests and full windows are reported the same way, and those of its read-back (the
listings its field-level diff reads, sent after its last write) apart.
Prints one JSON document; ``--json`` also writes it to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toolkit.demo import staging_log  # noqa: E402  (where the demo puts the sample's request log)
BURST, WINDOW = 100, 10.0  # HighLevel: 100 requests per 10 s per location (research highlevel.md §2)


def _windows(times: list[float], length: float) -> list[int]:
    """Requests in each full window of ``length`` seconds from the first request (the last, partial
    window left out)."""
    if not times:
        return []
    t0 = times[0]
    full = int((times[-1] - t0) // length)
    counts = [0] * full
    for t in times:
        k = int((t - t0) // length)
        if k < full:
            counts[k] += 1
    return counts


def run_demo(args, log: Path) -> tuple[list[tuple[str, float]], float, int]:
    """Runs the demo in a child process; returns (step, seconds since start when done) and the total."""
    cmd = [sys.executable, "-m", "toolkit.cli", "demo", "--patients", str(args.patients), "--out", str(args.out),
           "--request-log", str(log), "--time-scale", str(args.time_scale), "--destination", args.destination,
           "--source", args.source]
    t0 = time.time()
    marks: list[tuple[str, float]] = [("start", t0)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "CRM_MIGRATE_PROGRESS": "json"})
    for line in proc.stdout:
        if line.startswith("demo: ") and " done: " in line:
            marks.append((line.split()[1], time.time()))
        elif line.startswith("demo: ") and "source records" in line:
            marks.append(("closing", time.time()))
            print(line.strip(), file=sys.stderr)
    rc = proc.wait()
    return marks, time.time() - t0, rc


def figures(marks, log: Path, out: Path, time_scale: float) -> dict:
    reqs = [json.loads(line) for line in log.read_text().splitlines()]
    reports = out / "workspace" / "reports"
    # the records reconcile counted in the CRM (contacts, opportunities, events, files, custom records …)
    crm_records = sum(json.loads((reports / "reconcile.json").read_text())["destination_counts"].values())
    length = WINDOW / time_scale
    steps = {}
    for (_, start), (name, end) in zip(marks, marks[1:]):
        times = sorted(r["t"] for r in reqs if start <= r["t"] < end)
        win = _windows(times, length)
        step = {"seconds": round(end - start, 1), "requests": len(times)}
        if times:
            step.update(requests_per_crm_record=round(len(times) / crm_records, 3),
                        answered_429=sum(1 for r in reqs if start <= r["t"] < end and r["status"] == 429),
                        api_seconds=round(times[-1] - times[0], 1))
        if win:
            step.update(full_windows=len(win), window_min=min(win), window_median=statistics.median(win),
                        windows_under_97=sum(1 for w in win if w < 97), window_min_share=round(min(win) / BURST, 2))
            step["window_counts"] = win
        steps[name] = step
    estimate = json.loads((reports / "estimate.json").read_text())
    found = {"crm_records": crm_records, "requests": len(reqs), "estimate_calls": estimate["calls"],
             "estimate_vs_seen": round(estimate["calls"] / len(reqs), 3), "steps": steps}
    staging = staging_log(log)
    if staging.is_file():
        found["sample_account"] = _sample(staging, length)
    return found


def _sample(log: Path, length: float) -> dict:
    """The sample's staging account: every request, and the read-back (what follows its last write)."""
    reqs = sorted((json.loads(line) for line in log.read_text().splitlines()), key=lambda r: r["t"])
    writes = [r["t"] for r in reqs if r.get("method") in ("POST", "PUT", "DELETE")
              and "/search" not in r.get("path", "")]
    out = {}
    for name, part in (("all", reqs), ("read_back", [r for r in reqs if writes and r["t"] > writes[-1]])):
        times = [r["t"] for r in part]
        win = _windows(times, length)
        out[name] = {"requests": len(times), "answered_429": sum(1 for r in part if r["status"] == 429),
                     "api_seconds": round(times[-1] - times[0], 1) if times else 0, "full_windows": len(win),
                     "window_counts": win}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=500)
    ap.add_argument("--time-scale", type=float, default=4.0)
    ap.add_argument("--source", default="dent-o-soft")
    ap.add_argument("--destination", default="highlevel")
    ap.add_argument("--out", default="/tmp/bench-demo")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    out = Path(args.out)
    log = out.parent / (out.name + ".requests.jsonl")
    log.unlink(missing_ok=True)
    staging_log(log).unlink(missing_ok=True)
    load = os.getloadavg()
    marks, total, rc = run_demo(args, log)
    found = {"patients": args.patients, "time_scale": args.time_scale, "exit_status": rc,
             "seconds": round(total, 1), "load_before": [round(x, 2) for x in load],
             **figures(marks, log, out, args.time_scale)}
    text = json.dumps(found, indent=1)
    if args.json:
        Path(args.json).write_text(text)
    print(text)
    return rc


if __name__ == "__main__":
    sys.exit(main())
