"""Three practices loaded at once against one alone, on Apache Airflow.

Each side is one ``airflow dags test --use-executor`` run of ``airflow/dags/dental_group.py`` in a
fresh process, with fresh sandboxes (each practice its own CRM account and staging account,
counting the vendor's windows ``--time-scale`` times faster than real), on Airflow's
LocalExecutor (with Airflow's API server beside it, which the executor's task processes report
to): "one" is a manifest of one practice, "three" a manifest of three practices of
the same size (Dent-O-Soft → HighLevel, Dental-Exec → Pipedrive, Dental-Exec → Freshsales; "one"
is the first of them). The sides alternate; the figure is each side's median wall time, with the
machine's load average at each run.

    .venv/bin/python benchmarks/group_parallel.py --patients 60 --repeat 3

Needs the Airflow virtualenv ``make test`` builds (``.venv-airflow``, or ``--airflow-venv``).
The tests (tests/airflow/test_group_dag.py) build their group with :func:`make_group`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GROUP = "Bright Smiles Dental Group"
DAG_ID = "crm_migrate_bright_smiles_dental_group"
PRACTICES = (("north", "dent-o-soft", "highlevel"), ("south", "dental-exec", "pipedrive"),
             ("east", "dental-exec", "freshsales"))


def make_group(root: Path, practices=PRACTICES, *, patients: int = 20, time_scale: float = 20,
               venv: Path | None = None) -> tuple[Path, dict, list]:
    """Generate each practice's export, start its CRM and staging sandboxes, write the manifest
    and an Airflow home; returns (manifest, the environment Airflow runs in, the sandboxes)."""
    import crm_sandbox as sandbox
    from toolkit.demo import fallback_user
    from toolkit.sources import registry

    venv = venv or ROOT / ".venv-airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CRM_MIGRATE"))}
    lines, boxes = [], []
    for name, source, destination in practices:
        export = registry.get(source)().generate(root / "exports" / name, patients=patients, seed=31)
        users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
        # every account its own: HighLevel tells its sub-accounts apart by location id (the others by
        # their API's address, here each sandbox's port)
        ids = (f"loc-{name}", f"loc-{name}-staging") if destination == "highlevel" else (None, None)
        box = sandbox.start(destination, seed={"users": users}, time_scale=time_scale, location_id=ids[0])
        staging = sandbox.start(destination, seed={"users": users}, time_scale=time_scale, location_id=ids[1])
        boxes += [box, staging]
        env[f"{name.upper()}_TOKEN"], env[f"{name.upper()}_STAGING_TOKEN"] = box.token, staging.token
        lines.append(json.dumps({
            "name": name, "practice_name": f"Bright Smiles {name.title()}", "source": source,
            "export": f"exports/{name}", "destination": destination, "base_url": box.url,
            "token_env": f"{name.upper()}_TOKEN", "options": box.options, "fallback_owner": fallback_user(users),
            "staging": {"base_url": staging.url, "token_env": f"{name.upper()}_STAGING_TOKEN",
                        "options": staging.options}}))
    manifest = root / "group.yaml"
    manifest.write_text(f"group: {GROUP}\nworkspaces: workspaces\naccept_proposals: true\npractices:\n"
                        + "".join(f"  - {line}\n" for line in lines), encoding="utf-8")
    env |= {"AIRFLOW_HOME": str(root / "airflow-home"), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "airflow" / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "CRM_MIGRATE_GROUP_MANIFEST": str(manifest),
            "CRM_MIGRATE_NOTEBOOKS": str(ROOT / "notebooks"), "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}"}
    return manifest, env, boxes


def airflow(venv: Path, args: list[str], env: dict, cwd: Path, timeout: int = 1500) -> subprocess.CompletedProcess:
    """One Airflow command; its whole output is kept beside the run (``airflow-<verb>.log``), and a
    failure says which lines of it went wrong."""
    done = subprocess.run([str(venv / "bin" / args[0]), *args[1:]], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    log = cwd / f"{args[0]}-{'-'.join(a for a in args[1:3] if not a.startswith('/'))}.log"
    log.write_text(done.stdout + "\n" + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        failed = [line for line in done.stdout.splitlines() if "error" in line.lower() or "failed" in line.lower()]
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode} (whole log: {log}):\n" + "\n".join(failed[-30:])
                           + f"\n{done.stderr[-3000:]}")
    return done


def set_up_airflow(venv: Path, manifest: Path, env: dict, root: Path) -> None:
    """The metadata database (SQLite), and one pool per destination account from the manifest."""
    airflow(venv, ["airflow", "db", "migrate"], env, root)
    pools = airflow(venv, ["python", "-m", "toolkit.cli", "group", "pools", str(manifest)], env, root)
    (root / "pools.json").write_text(pools.stdout, encoding="utf-8")
    airflow(venv, ["airflow", "pools", "import", str(root / "pools.json")], env, root)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 120) -> None:
    """Poll ``url`` until it answers (the server says nothing on stdout when it is ready)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Airflow API server exited ({process.returncode})")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the Airflow API server did not answer at {url}")


def _side(practices: int, patients: int, time_scale: float, venv: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="group-bench-") as tmp:
        root = Path(tmp)
        manifest, env, boxes = make_group(root, PRACTICES[:practices], patients=patients, time_scale=time_scale,
                                          venv=venv)
        api = None
        try:
            # the executor's task processes report to Airflow's API server (Airflow 3): run one
            port = _free_port()
            env |= {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor", "AIRFLOW__CORE__PARALLELISM": "8",
                    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
                    "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32)}
            set_up_airflow(venv, manifest, env, root)
            api = subprocess.Popen([str(venv / "bin" / "airflow"), "api-server", "--port", str(port)], env=env,
                                   cwd=root, stdout=subprocess.DEVNULL, stderr=open(root / "api-server.log", "w"))
            _wait_for(f"http://127.0.0.1:{port}/api/v2/monitor/health", api)
            load = os.getloadavg()[0]
            start = time.perf_counter()
            airflow(venv, ["airflow", "dags", "test", DAG_ID, "--use-executor"], env, root, timeout=3600)
            seconds = time.perf_counter() - start
            rollup = json.loads((root / "workspaces" / "group.json").read_text(encoding="utf-8"))
        finally:
            if api is not None:
                api.terminate()
                api.wait(timeout=60)
            for box in boxes:
                box.stop()
    return {"practices": practices, "seconds": round(seconds, 1), "load_before": round(load, 2),
            "reconciled": rollup["reconciled"], "source_records": rollup["totals"]["source_records"],
            "unaccounted": rollup["totals"]["unaccounted"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=60, help="patients per practice (default 60)")
    ap.add_argument("--time-scale", type=float, default=4.0, help="the sandboxes' windows, times real (default 4)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side, alternated (default 3)")
    ap.add_argument("--airflow-venv", default=str(ROOT / ".venv-airflow"))
    ap.add_argument("--side", choices=["1", "3"], help=argparse.SUPPRESS)  # one measurement, in a fresh process
    args = ap.parse_args()
    venv = Path(args.airflow_venv)
    if args.side:
        print(json.dumps(_side(int(args.side), args.patients, args.time_scale, venv)))
        return 0
    runs: dict[int, list[dict]] = {1: [], 3: []}
    for _ in range(args.repeat):
        for side in (1, 3):
            out = subprocess.run([sys.executable, __file__, "--side", str(side), "--patients", str(args.patients),
                                  "--time-scale", str(args.time_scale), "--airflow-venv", str(venv)],
                                 capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            runs[side].append(result)
            print(json.dumps(result), flush=True)
    one, three = (statistics.median(r["seconds"] for r in runs[k]) for k in (1, 3))
    print(f"one practice: median {one:.1f} s; three at once: median {three:.1f} s ({three / one:.2f}x one)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
