"""``crm-migrate``: the command line, a thin layer over the same calls the notebooks make.

Input errors (unknown names, missing folders, bad exports, unset token variables, unconfirmed
mappings) print one line naming the thing and exit with status 2, before anything is written
to the destination.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import ConfigError, MappingError, MigrationError, SourceError

INPUT_ERRORS = (ConfigError, SourceError, MappingError)
INPUT_ERROR_NAMES = {"ConfigError", "SourceError", "SchemaDriftError", "MappingError"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crm-migrate", description="Migrate a dental practice's data into a CRM.")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a synthetic practice export with planted defects")
    g.add_argument("source")
    g.add_argument("--patients", type=int, default=500)
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--out", required=True)

    s = sub.add_parser("sandbox", help="run a local imitation of a CRM's API")
    s.add_argument("name")
    s.add_argument("--port", type=int, default=8710)
    s.add_argument("--token")
    s.add_argument("--location-id")
    s.add_argument("--seed", help="JSON file of users, pipelines and settings")
    s.add_argument("--time-scale", type=float, default=1.0)
    s.add_argument("--faults")
    s.add_argument("--request-log")

    i = sub.add_parser("init", help="create a migration workspace")
    i.add_argument("workspace")
    i.add_argument("--source", required=True)
    i.add_argument("--export", required=True)
    i.add_argument("--destination", required=True)
    i.add_argument("--base-url")
    i.add_argument("--location-id")
    i.add_argument("--token-env")
    i.add_argument("--fallback-owner", help="email of the destination user who gets unmatched owners' records")

    for step, text in (("audit", "audit the source"), ("map", "write the workspace's mapping"),
                       ("migrate", "load everything"), ("reconcile", "account for every source record")):
        c = sub.add_parser(step, help=text)
        c.add_argument("workspace")
        if step in {"map", "migrate"}:
            c.add_argument("--accept-proposals", action="store_true",
                           help="confirm every proposed mapping field without review")

    d = sub.add_parser("demo", help="generate → sandbox → init → audit → map → migrate → reconcile")
    d.add_argument("--source", default="dent-o-soft")
    d.add_argument("--destination", default="highlevel")
    d.add_argument("--patients", type=int, default=500)
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--out", default="demo-output")
    d.add_argument("--request-log")
    return p


def _generate(args) -> int:
    from .sources import registry

    out = registry.get(args.source)().generate(args.out, patients=args.patients, seed=args.seed)
    print(f"generated {args.source} export with {args.patients} patients in {out}")
    return 0


def _sandbox(args) -> int:
    from . import sandbox

    sandbox.serve(args.name, port=args.port, token=args.token, location_id=args.location_id, seed=args.seed,
                  time_scale=args.time_scale, faults=args.faults, request_log=args.request_log)
    return 0


def _init(args) -> int:
    from .workspace import init_workspace

    options = {"location_id": args.location_id} if args.location_id else {}
    ws = init_workspace(args.workspace, source=args.source, export=args.export, destination=args.destination,
                        base_url=args.base_url, token_env=args.token_env, options=options,
                        fallback_owner=args.fallback_owner)
    print(f"workspace {ws.root}: {ws.source} -> {ws.destination}; token read from ${ws.destination_config.token_env}")
    return 0


def _step(args) -> int:
    from .notebook_runs import StepFailed, run_step
    from .workspace import Workspace

    ws = Workspace.load(args.workspace)
    if args.command in {"migrate", "reconcile"}:
        ws.destination_config.token()  # an unset variable stops here, before any call
    options = {"accept_proposals": True} if getattr(args, "accept_proposals", False) else {}
    try:
        html = run_step(ws, args.command, **options)
    except StepFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if exc.ename in INPUT_ERROR_NAMES else 1
    figures = json.loads((ws.reports_dir / f"{args.command}.json").read_text(encoding="utf-8"))
    line = {"audit": lambda f: f"audit: {f['summary']['records']} records, {f['summary']['expectations_failed']} "
                               f"expectations failed, {f['summary']['duplicates']} likely duplicates",
            "map": lambda f: f"mapping: {len(f['unconfirmed'])} fields awaiting confirmation",
            "migrate": lambda f: f"migrate: {f['status']}, {f['counts']}" + (f" ({f['message']})" if f["message"] else ""),
            "reconcile": lambda f: "reconcile: " + ", ".join(f"{k} {v}" for k, v in f["summary"].items())}[args.command]
    print(line(figures))
    print(f"report: {html}")
    return 0


def _demo(args) -> int:
    from . import demo

    return demo.run(source=args.source, destination=args.destination, patients=args.patients, seed=args.seed,
                    out=args.out, request_log=args.request_log)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {"generate": _generate, "sandbox": _sandbox, "init": _init, "demo": _demo}.get(args.command, _step)
    try:
        return handler(args)
    except INPUT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: the ledger holds everything done so far; run the same command again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
