"""Benchmark: reading plus auditing a generated Dent-O-Soft export, against pandas alone.

    .venv/bin/python benchmarks/read_audit.py --patients 1000000 --out /tmp/bench-dos

Generates the export once in a child process (kept in ``--out`` for reruns), then runs each
measurement in a fresh child process whose peak memory (``VmHWM``, the high-water mark of its own
address space) belongs to that measurement alone:

* ``pandas``: ``pd.read_csv(path, encoding="cp1252")`` on every CSV of the export (defaults:
  type inference, pandas' own string columns) — "pandas alone reading the same CSVs";
* ``pandas-text``: the same with every cell as text (``dtype=str, keep_default_na=False``), the
  job our reader does;
* ``read+audit``: ``DentOSoftSource().read_for_audit`` then ``run_audit`` with the packaged
  suites, Great Expectations loading beside the read (``preload_great_expectations``) — the
  steps of ``toolkit.audit(ws)``, which the 01_audit notebook runs, without saving GX's result
  files, then ``report.findings()``, the table of every flagged cell (``read_seconds``,
  ``audit_seconds``, ``findings_seconds`` and ``read_peak_gb`` split it; GX's import is counted
  where it ends up waited for);
* ``sparse-2gb``: a 2 GB file with no data written (a pre-allocated, never-filled copy) handed to
  the strict reader, which must refuse it with a clear error in bounded memory.

``pandas`` and ``read+audit`` run ``--repeat`` times (default 3), alternating, so that both see
the same moments of a shared machine. Prints one JSON line per measurement and a summary: the
read+audit / pandas ratio of each pair and their median (target <= 3), and the highest peak
memory (target < 4 GB).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(kind: str, folder: str) -> dict:
    t = time.perf_counter()
    extra = {}
    if kind in {"pandas", "pandas-text"}:
        import pandas as pd

        kw = {"dtype": str, "keep_default_na": False} if kind == "pandas-text" else {}
        rows = sum(len(pd.read_csv(p, encoding="cp1252", **kw)) for p in sorted(Path(folder).glob("*.csv")))
        extra["rows"] = rows
    elif kind == "read+audit":
        from toolkit import _paths
        from toolkit.audit import preload_great_expectations, run_audit
        from toolkit.sources.dent_o_soft import DentOSoftSource

        preload_great_expectations()  # as toolkit.audit(ws) does
        snap = DentOSoftSource().read_for_audit(folder)
        extra["read_seconds"] = round(time.perf_counter() - t, 1)
        extra["read_peak_gb"] = round(_own_peak() / 2**30, 2)
        a = time.perf_counter()
        report = run_audit(snap, _paths.EXPECTATIONS)
        extra["audit_seconds"] = round(time.perf_counter() - a, 1)
        f = time.perf_counter()
        findings = len(report.findings())  # the one table of every flagged cell (counted in "seconds")
        extra["findings_seconds"] = round(time.perf_counter() - f, 1)
        s = report.summary()
        extra.update(rows=s["records"], expectations_run=s["expectations_run"], findings=findings)
    elif kind == "sparse-2gb":
        from toolkit.errors import SourceError
        from toolkit.sources._csv import read_strict_csv

        p = Path(folder) / "sparse-2gb.csv"
        with open(p, "wb") as fh:
            fh.truncate(2 << 30)
        try:
            read_strict_csv(p)
            extra["error"] = None
        except SourceError as exc:
            extra["error"] = str(exc)
        finally:
            p.unlink()
    return {"measure": kind, "seconds": round(time.perf_counter() - t, 1), "peak_gb": round(_own_peak() / 2**30, 2),
            **extra}


def _own_peak() -> int:
    """This process's own peak resident memory, in bytes.

    ``ru_maxrss`` survives ``execve``: a child started from a parent that had grown (generating
    the export) would report the parent's peak. ``VmHWM`` is the high-water mark of the
    process's current address space, which ``execve`` replaces, so it is the child's alone.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="/tmp/bench-dos")
    ap.add_argument("--repeat", type=int, default=3, help="pandas / read+audit pairs to run (default 3)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "generate":
        from toolkit.sources.dent_o_soft import generate

        generate(Path(args.out), patients=args.patients, seed=args.seed)
        return 0
    if args.child:
        print(json.dumps(_child(args.child, args.out)))
        return 0
    out = Path(args.out)
    if not (out / "ground_truth.json").is_file():
        # generated in a child of its own, so that this process stays small and no measurement
        # starts from its pages
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--out", str(out), "--patients", str(args.patients), "--seed",
                        str(args.seed), "--child", "generate"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        print(json.dumps({"measure": "generate", "seconds": round(time.perf_counter() - t, 1)}), flush=True)
    size = sum(p.stat().st_size for p in out.glob("*.csv"))
    print(json.dumps({"measure": "export", "csv_bytes": size, "files": len(list(out.glob("*.csv")))}), flush=True)
    def run(kind: str) -> dict:
        done = subprocess.run([sys.executable, __file__, "--out", str(out), "--child", kind], capture_output=True,
                              text=True, cwd=ROOT, check=True)
        found = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(found), flush=True)
        return found

    # pandas and ours alternate, so that both see the same moments of a shared machine; each
    # pair gives one ratio
    pairs = [(run("pandas"), run("read+audit")) for _ in range(max(1, args.repeat))]
    text = run("pandas-text")
    run("sparse-2gb")
    ratios = sorted(ours["seconds"] / theirs["seconds"] for theirs, ours in pairs)
    print(json.dumps({"measure": "summary", "ratios_vs_pandas": [round(r, 2) for r in ratios],
                      "median_ratio_vs_pandas": round(statistics.median(ratios), 2),
                      "median_ratio_vs_pandas_text": round(statistics.median(
                          ours["seconds"] for _, ours in pairs) / text["seconds"], 2),
                      "peak_gb": max(ours["peak_gb"] for _, ours in pairs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
