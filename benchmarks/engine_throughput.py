"""Engine throughput against the HighLevel sandbox at its real limit (100 requests per 10 s).

Measures, each scenario against a fresh sandbox process (so the sandbox and the engine do not
share a GIL) and a fresh workspace:

1. **full** — a full load of a generated Dent-O-Soft export large enough to last two minutes at
   the quota: requests per second against the quota's 10, the share answered 429, and write
   calls per contact (``POST /contacts/`` + ``PUT /contacts/{id}`` over contacts created);
2. **delta** — 1% of the migrated records changed in the export, then a delta run: its requests
   as a share of the full run's;
3. **engine vs a notebook loop** — contacts and recall opportunities only, loaded once by the
   engine and once by the plain sequential loop an analyst would write in a notebook (the code
   is below, :func:`notebook_loop`), on loopback and with 200 ms of added latency per call (a
   CRM on the other side of the internet), and the engine with one worker for comparison.

Timing and statuses come from httpx response hooks on the client the adapter is given; request
counts are checked against the sandbox's own request log.

Usage::

    .venv/bin/python benchmarks/engine_throughput.py --patients 130 --compare-patients 250 --out /tmp/bench-engine
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toolkit import init_workspace  # noqa: E402
from toolkit import workflow as wf  # noqa: E402
from toolkit.demo import fallback_user  # noqa: E402
from toolkit.mapping import MappingSpec  # noqa: E402
from toolkit.sources import registry  # noqa: E402

QUOTA_PER_S = 10.0  # HighLevel: 100 requests per 10 seconds per location (research highlevel.md §2)
TOKEN_ENV = "BENCH_HIGHLEVEL_TOKEN"


class Sandbox:
    """A HighLevel sandbox in its own process (``crm-migrate sandbox highlevel``)."""

    def __init__(self, out: Path, name: str, users: list[dict], faults: str | None = None):
        seed = out / f"{name}.seed.json"
        seed.write_text(json.dumps({"users": users}))
        self.log = out / f"{name}.requests.jsonl"
        cmd = [sys.executable, "-m", "toolkit.cli", "sandbox", "highlevel", "--port", "0", "--seed", str(seed),
               "--request-log", str(self.log), "--token-env", "BENCH_SANDBOX_TOKEN"] + (["--faults", faults] if faults else [])
        self.token = secrets.token_urlsafe(24)
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "BENCH_SANDBOX_TOKEN": self.token})
        banner = self.proc.stdout.readline()
        fields = dict(p.split("=", 1) for p in banner.split() if "=" in p)
        self.url, self.location_id = fields["url"], fields["location_id"]
        self.admin = {"Authorization": f"Bearer {self.token}"}
        for _ in range(100):  # the banner comes before uvicorn accepts connections
            try:
                httpx.get(self.url + "/__sandbox/state", timeout=1, headers=self.admin)
                break
            except httpx.TransportError:
                time.sleep(0.1)

    def requests(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def state(self) -> dict:
        return httpx.get(self.url + "/__sandbox/state", timeout=30, headers=self.admin).json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Recorder:
    """An httpx client that notes when each response came and its status."""

    def __init__(self):
        self.events: list[tuple[float, int, str, str]] = []
        self.client = httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0),
                                   event_hooks={"response": [self._hook]})

    def _hook(self, response: httpx.Response) -> None:
        self.events.append((time.monotonic(), response.status_code, response.request.method, response.request.url.path))

    def figures(self) -> dict:
        if not self.events:
            return {"requests": 0}
        t = [e[0] for e in self.events]
        span = max(t) - min(t)
        n = len(self.events)
        per10 = pd.Series(1, index=pd.to_timedelta([x - min(t) for x in t], unit="s")).resample("10s").sum()
        full = per10.iloc[:-1] if len(per10) > 1 else per10  # the last window is partial
        # after the first ten seconds, when the opening burst is spent: the pace the limiter keeps
        late = [x for x in t if x - min(t) >= 10.0]
        steady = len(late) / (max(t) - min(t) - 10.0) if span > 20 else None
        return {"requests": n, "seconds": round(span, 1), "per_second": round(n / span, 2) if span else None,
                "of_quota": round(n / span / QUOTA_PER_S, 3) if span else None,
                "steady_per_second": round(steady, 2) if steady else None,
                "steady_of_quota": round(steady / QUOTA_PER_S, 3) if steady else None,
                "429": sum(1 for e in self.events if e[1] == 429),
                "share_429": round(sum(1 for e in self.events if e[1] == 429) / n, 4),
                "per_10s_min": int(full.min()), "per_10s_max": int(full.max())}


def make_workspace(out: Path, name: str, export: Path, box: Sandbox, users: list[dict], *, objects=None,
                   engine: dict | None = None):
    os.environ[TOKEN_ENV] = box.token
    ws = init_workspace(out / name, source="dent-o-soft", export=export, destination="highlevel", base_url=box.url,
                        token_env=TOKEN_ENV, options={"location_id": box.location_id},
                        fallback_owner=fallback_user(users))
    if engine:
        ws.extra["engine"] = engine
        ws.save()
    spec = wf.prepare_mapping(ws, accept_proposals=True)
    if objects:  # only these routes (source objects), for the comparison with the notebook loop
        spec.objects = [o for o in spec.objects if o.source in objects]
        spec.save(ws.mapping_path)
    assert isinstance(spec, MappingSpec)
    return ws


def write_calls_per_contact(box: Sandbox) -> dict:
    reqs = box.requests()
    writes = [r for r in reqs if r["method"] in {"POST", "PUT"} and r["path"].startswith("/contacts/")
              and r["path"].count("/") <= 2 and not r["path"].startswith("/contacts/search")]
    contacts = len(box.state()["contacts"])
    return {"contact_writes": len(writes), "contacts": contacts,
            "writes_per_contact": round(len(writes) / contacts, 3) if contacts else None}


def change_one_percent(export: Path, loaded: dict[str, int]) -> int:
    """Edit 1% of the migrated records of each timestamped and each hashed object; returns how many."""
    changed = 0
    for obj, col, edit in (("patients", "LastName", lambda v: v + "-Changed"),
                           ("appointments", "Note", lambda v: (v or "") + " (rescheduled)"),
                           ("recalls", "IntervalMonths", lambda v: str(int(v or 6) + 1))):
        path = export / f"{obj}.csv"
        df = pd.read_csv(path, dtype=str, encoding="cp1252", keep_default_na=False)
        n = max(1, round(loaded.get(obj, 0) * 0.01))
        rows = df.index[(df.get("Status", "") != "Deceased")][:n] if obj == "patients" else df.index[:n]
        df.loc[rows, col] = df.loc[rows, col].map(edit)
        if "ModifiedDate" in df.columns:
            df.loc[rows, "ModifiedDate"] = "12/31/2030 10:00"
        df.to_csv(path, index=False, encoding="cp1252", lineterminator="\r\n")
        changed += len(rows)
    return changed


def notebook_loop(base_url: str, token: str, location_id: str, export: Path, rec: Recorder) -> dict:
    """The load as an analyst would write it in a notebook: one call after another, sleeping on 429.

    Contacts with their chart number and status in custom fields, then each recall as an
    opportunity in the Recall pipeline.
    """
    H = {"Authorization": f"Bearer {token}", "Version": "2021-07-28"}
    client = rec.client  # the same hooks; a notebook would call httpx.post directly

    def call(method, path, **kw):
        while True:
            r = client.request(method, base_url + path, headers=H, **kw)
            if r.status_code == 429:
                time.sleep(float(r.headers.get("Retry-After", 10)))
                continue
            return r

    patients = pd.read_csv(export / "patients.csv", dtype=str, encoding="cp1252", keep_default_na=False)
    recalls = pd.read_csv(export / "recalls.csv", dtype=str, encoding="cp1252", keep_default_na=False)
    fields = {}
    for key, name, kind in (("chart_number", "Chart Number", "TEXT"), ("patient_status", "Patient Status", "TEXT"),
                            ("recall_type", "Recall Type", "TEXT")):
        model = "opportunity" if key == "recall_type" else "contact"
        r = call("POST", f"/locations/{location_id}/customFields",
                 json={"name": name, "dataType": kind, "model": model, "fieldKey": f"{model}.{key}"})
        fields[key] = r.json()["customField"]["id"]
    pipes = call("GET", "/opportunities/pipelines", params={"locationId": location_id}).json()["pipelines"]
    recall = next(p for p in pipes if p["name"] == "Recall")
    stage = {s["name"]: s["id"] for s in recall["stages"]}
    ids, errors, loaded = {}, 0, 0
    for _, p in patients.iterrows():
        if p.Status == "Deceased":
            continue
        body = {"locationId": location_id, "firstName": p.FirstName, "lastName": p.LastName,
                "customFields": [{"id": fields["chart_number"], "field_value": p.ChartNo},
                                 {"id": fields["patient_status"], "field_value": p.Status}]}
        if p.Email:
            body["email"] = p.Email
        r = call("POST", "/contacts/", json=body)
        if r.status_code < 300:
            ids[p.PatientID] = r.json()["contact"]["id"]
            loaded += 1
        else:
            errors += 1
    for _, rc in recalls.iterrows():
        if rc.PatientID not in ids:
            continue
        r = call("POST", "/opportunities/", json={
            "locationId": location_id, "contactId": ids[rc.PatientID], "name": f"{rc.RecallType} recall",
            "pipelineId": recall["id"], "pipelineStageId": stage.get(rc.Status, next(iter(stage.values()))),
            "status": "open", "customFields": [{"id": fields["recall_type"], "field_value": rc.RecallType}]})
        loaded += r.status_code < 300
        errors += r.status_code >= 300
    return {"loaded": loaded, "errors": errors}


def run(args) -> dict:
    out = Path(args.out).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    export = out / "export"
    registry.get("dent-o-soft")().generate(export, patients=args.patients, seed=args.seed)
    users = json.loads((export / "crm_users.json").read_text())
    results: dict = {"patients": args.patients, "compare_patients": args.compare_patients}

    # 1. full load at the real limit, then 2. a delta over 1% changed records
    box = Sandbox(out, "full", users)
    try:
        ws = make_workspace(out, "ws-full", export, box, users)
        rec = Recorder()
        t0 = time.monotonic()
        full = wf.migrate(ws, progress=False, client=rec.client)
        results["full"] = {"status": full.result.status, "counts": full.result.counts,
                           "wall_seconds": round(time.monotonic() - t0, 1), **rec.figures(),
                           **write_calls_per_contact(box), "sandbox_log_requests": len(box.requests())}
        loaded = {}
        for o, k in [(r["object"], r["fate"]) for r in wf.reconcile(ws).fates.to_dict("records")]:
            if k in {"created", "updated"}:
                loaded[o] = loaded.get(o, 0) + 1
        changed = change_one_percent(export, loaded)
        rec2 = Recorder()
        d = wf.delta(ws, progress=False, client=rec2.client)
        results["delta"] = {"status": d.result.status, "counts": d.result.counts, "changed_in_source": changed,
                            "records_migrated": sum(loaded.values()), **rec2.figures(),
                            "share_of_full_calls": round(rec2.figures()["requests"] / results["full"]["requests"], 4)}
    finally:
        box.stop()

    # 3. contacts and recalls: the engine against a notebook loop, on loopback and at 200 ms
    export = out / "export-compare"
    registry.get("dent-o-soft")().generate(export, patients=args.compare_patients, seed=args.seed)
    users = json.loads((export / "crm_users.json").read_text())
    for label, faults in (("loopback", None), ("200ms", "latency=200ms")):
        for who, engine in (("engine", {}), ("engine_1_worker", {"workers": 1}), ("notebook_loop", None)):
            box = Sandbox(out, f"{who}-{label}", users, faults)
            try:
                rec = Recorder()
                t0 = time.monotonic()
                if engine is not None:
                    ws = make_workspace(out, f"ws-{who}-{label}", export, box, users,
                                        objects={"patients", "recalls"}, engine=engine or None)
                    t0 = time.monotonic()
                    o = wf.migrate(ws, progress=False, client=rec.client)
                    done = {"loaded": o.result.counts.get("created", 0), "errors": o.result.counts.get("error", 0)}
                else:
                    done = notebook_loop(box.url, box.token, box.location_id, export, rec)
                wall = time.monotonic() - t0
                results[f"{who}_{label}"] = {**done, "wall_seconds": round(wall, 1),
                                             "records_per_minute": round(60 * done["loaded"] / wall, 1), **rec.figures()}
            finally:
                box.stop()
        e, n = results[f"engine_{label}"], results[f"notebook_loop_{label}"]
        results[f"ratio_{label}"] = round(e["records_per_minute"] / n["records_per_minute"], 2)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--patients", type=int, default=130, help="the full load's export (about two minutes)")
    p.add_argument("--compare-patients", type=int, default=250, help="the export the notebook loop is compared on")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", default="/tmp/bench-engine")
    print(json.dumps(run(p.parse_args()), indent=2))


if __name__ == "__main__":
    main()
