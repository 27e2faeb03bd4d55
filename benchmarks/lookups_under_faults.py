"""Benchmark: look-ups after lost answers, on the account's one limiter.

    .venv/bin/python benchmarks/lookups_under_faults.py --patients 60 --time-scale 4 --out /tmp/bench-lookups

Loads a generated Dent-O-Soft export twice, each time into a fresh HighLevel sandbox: once
clean, once into a sandbox that loses the answer to some writes after acting on them (``lost``)
and fails others with a 5xx before acting (``5xx``). After such a failure the engine must find
the record by its Source ID before it tries again, or it would make a second one. From the two
request logs:

* the look-ups: the reads of each kind (contact searches filtered on the Source ID field, a
  custom object's or business's records search, an event's calendar window, a contact's notes,
  opportunities searches) the faulty load sent beyond the clean one's;
* every full rate window of the load (10 s of HighLevel's time; 10 / ``time_scale`` s of ours),
  as a share of the burst quota (100), and the share answered 429;
* whether the faulty load left a duplicate (two CRM records of a kind carrying one Source ID).

Prints one JSON document.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from demo_windows import WINDOW, _windows  # noqa: E402  (this folder: the windows counted one way)

TOKEN_ENV = "HIGHLEVEL_TOKEN"


def _kind(r: dict) -> str | None:
    """The look-up kind of a read, or None for a read that is not one."""
    path, method = r["path"], r["method"]
    if method == "POST" and path == "/contacts/search":
        return "contact search (Source ID filter)"
    if method == "POST" and path.startswith("/objects/") and path.endswith("/records/search"):
        return "records search (custom object or business)"
    if method == "GET" and path == "/calendars/events":
        return "calendar window"
    if method == "GET" and path.startswith("/contacts/") and path.endswith("/notes"):
        return "a contact's notes"
    if method == "GET" and path == "/opportunities/search":
        return "opportunities search"
    return None


def _load(out: Path, export: Path, users: list[dict], time_scale: float, faults: str | None) -> tuple[list, object, dict]:
    """One load into a fresh sandbox; (its requests in time order, the run's result, the CRM's state)."""
    import crm_sandbox as sandbox
    from toolkit import workflow as wf
    from toolkit.workflow import prepare_mapping
    from toolkit.workspace import init_workspace

    out.mkdir(parents=True)
    log = out / "requests.jsonl"
    with sandbox.start("highlevel", seed={"users": users}, time_scale=time_scale, faults=faults,
                       request_log=str(log)) as box:
        os.environ[TOKEN_ENV] = box.token
        fallback = next((u["email"] for u in users if u.get("role") == "admin"), users[0]["email"])
        ws = init_workspace(out / "ws", source="dent-o-soft", export=export, destination="highlevel",
                            base_url=box.url, token_env=TOKEN_ENV, options=box.options, fallback_owner=fallback)
        ws.extra["engine"] = {"max_attempts": 10}
        ws.save()
        prepare_mapping(ws, accept_proposals=True)
        done = wf.migrate(ws, progress=False)
        state = box.state()
    reqs = sorted((json.loads(line) for line in log.read_text().splitlines()), key=lambda r: r["t"])
    return reqs, done.result, state


def _repeated_source_ids(state: dict) -> int:
    """CRM records of one kind carrying a Source ID another record of that kind carries too."""
    repeated = 0
    for kind, records in state.items():
        if not isinstance(records, list):
            continue
        seen = collections.Counter()
        for rec in records:
            if not isinstance(rec, dict):
                continue
            fields = rec.get("customFields") or rec.get("properties") or []
            values = fields.values() if isinstance(fields, dict) else [f.get("value") for f in fields
                                                                        if isinstance(f, dict)]
            for v in values:
                if isinstance(v, str) and v.startswith("dent-o-soft:"):
                    seen[v] += 1
        repeated += sum(1 for n in seen.values() if n > 1)
    return repeated


def main() -> int:
    from toolkit.sources import registry

    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=60)
    ap.add_argument("--time-scale", type=float, default=4.0)
    ap.add_argument("--faults", default="lost=0.03,5xx=0.02")
    ap.add_argument("--out", default="/tmp/bench-lookups")
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    export = out / "export"
    registry.get("dent-o-soft")().generate(export, patients=args.patients, seed=7)
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    clean, clean_result, _ = _load(out / "clean", export, users, args.time_scale, None)
    faulty, result, state = _load(out / "faulty", export, users, args.time_scale, args.faults)
    # the look-ups: the reads of each kind the faulty load sent beyond the clean load's
    before = collections.Counter(k for r in clean if (k := _kind(r)))
    after = collections.Counter(k for r in faulty if (k := _kind(r)))
    win = _windows([r["t"] for r in faulty], WINDOW / args.time_scale)
    found = {
        "patients": args.patients, "time_scale": args.time_scale, "faults": args.faults,
        "status": result.status, "counts": result.counts, "clean_counts": clean_result.counts,
        "requests": len(faulty), "requests_clean": len(clean),
        "answered_5xx": sum(1 for r in faulty if (r["status"] or 0) >= 500),
        "lookups_beyond_the_clean_load": {k: after[k] - before.get(k, 0) for k in after
                                          if after[k] != before.get(k, 0)},
        "answered_429": sum(1 for r in faulty if r["status"] == 429),
        "full_windows": len(win), "window_min": min(win) if win else None,
        "windows_under_90": sum(1 for w in win if w < 90), "window_counts": win,
        "repeated_source_ids": _repeated_source_ids(state),
    }
    print(json.dumps(found, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
