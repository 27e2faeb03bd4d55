"""``crm-migrate``: the command line, a thin layer over the same calls the notebooks make.

Every failure prints one line naming the thing; the exit status says what kind of ending it was,
decided by the error's type (:data:`EXIT_CODES`), so that a scheduler can act on it:

====  =====================================================================================
0     done
1     an unexpected failure (a bug, or something the toolkit does not classify)
2     bad input: unknown names, missing folders, bad exports, unset token variables,
      unconfirmed mappings; nothing was written to the destination
3     the step finished, but some records ended in error, or the reconciliation found the CRM
      differing from the source (each named in its report); source rows set aside as malformed
      (named by file and line in the audit) are reported as errors but do not, alone, make it 3
4     the destination refused: credentials, or a request it will never accept
75    try again later: the daily quota is spent (the time to resume is printed) or another
      process is writing through the workspace
130   interrupted (Ctrl-C); the ledger holds everything done so far
====  =====================================================================================
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import errors as _errors
from .errors import ConfigError, DestinationError, MappingError, MigrationError, QuotaExhaustedError, SourceError
from .file_lock import WorkspaceBusyError

#: exit statuses
DONE, FAILED, BAD_INPUT, RECORD_ERRORS, REFUSED, TRY_LATER, INTERRUPTED = 0, 1, 2, 3, 4, 75, 130
#: error type -> exit status, most specific first (the first type an error is an instance of wins)
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (WorkspaceBusyError, TRY_LATER),
    (QuotaExhaustedError, TRY_LATER),
    (ConfigError, BAD_INPUT),
    (SourceError, BAD_INPUT),
    (MappingError, BAD_INPUT),
    (DestinationError, REFUSED),
    (KeyboardInterrupt, INTERRUPTED),
)


def exit_code(error: type[BaseException] | BaseException) -> int:
    """The exit status for an error (its type, or an instance), by :data:`EXIT_CODES`."""
    kind = error if isinstance(error, type) else type(error)
    return next((code for base, code in EXIT_CODES if issubclass(kind, base)), FAILED)


def error_type(name: str) -> type[BaseException]:
    """The toolkit's error class called ``name`` (a step notebook reports its error by name)."""
    from . import export_paths, file_lock
    from .load import ledger

    for module in (_errors, file_lock, ledger, export_paths):
        found = getattr(module, name, None)
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
    return {"KeyboardInterrupt": KeyboardInterrupt}.get(name, Exception)


_REDACT_HELP = ("also write the copy to send: names, emails, phones, dates of birth, addresses and note text masked, "
                "in WS/reports/redacted/")


#: the options steps take (``Step.options``), with their help
OPTIONS = {
    "accept_proposals": ("--accept-proposals", {"action": "store_true",
                                                 "help": "confirm every proposed mapping field without review"}),
    "propagate_deletions": ("--propagate-deletions", {"action": "store_true", "help": (
        "also delete from the CRM the migrated records the source no longer has (journaled; rolling the delta "
        "back creates them again); by default they are reported and kept")}),
    "size": ("--size", {"type": int, "default": 200, "help": "records in the sample (default 200)"}),
    "seed": ("--seed", {"type": int, "default": 0, "help": "the same seed picks the same sample"}),
    "checkpoint": ("--checkpoint", {"action": "store_true", "help": (
        "also run each object's Great Expectations checkpoint (plain GX on every row) and compare its verdict")}),
    "data_docs": ("--data-docs", {"action": "store_true", "help": (
        "also render the workspace's GX project (WS/gx) as Data Docs")}),
    "run_id": ("--run", {"dest": "run_id", "help": "the run to undo (its id, from the migrate/delta report)"}),
    "since": ("--since", {"help": "undo this run and every later one (killed runs included), newest first"}),
}


def _audit_line(f: dict) -> str:
    gx = f.get("gx") or {}
    unread = f["summary"].get("read_errors", 0)
    text = (f"audit: {f['summary']['records']} records, "
            + (f"{unread} rows set aside as unreadable (file and line in the report), " if unread else "")
            + f"{f['summary']['expectations_failed']} expectations failed, "
            f"{f['summary']['duplicates']} likely duplicates; GX results saved in gx/")
    if gx.get("checkpoints") is not None:
        failing = sorted(o for o, c in gx["checkpoints"].items() if not c["success"])
        text += (f"; GX checkpoints: {len(gx['checkpoints']) - len(failing)} of {len(gx['checkpoints'])} objects pass"
                 + (f" (failing: {', '.join(failing)})" if failing else ""))
    if gx.get("data_docs"):
        text += f"; Data Docs: {gx['data_docs']}"
    return text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crm-migrate", description="Migrate a dental practice's data into a CRM.")
    p.add_argument("--log-format", choices=["text", "json"], default="text",
                   help="how long steps report progress on stderr: text lines (rewritten in place on a terminal), "
                        "or one JSON event per line (default text)")
    sub = p.add_subparsers(dest="command", required=True)

    from .destinations import registry as _destinations
    from .sources import registry as _sources

    g = sub.add_parser("generate", help="write a synthetic practice export with planted defects")
    g.add_argument("source", choices=_sources.names(), help="whose export layout to write")
    g.add_argument("--patients", type=int, default=500, help="patients in the export (default 500; at least 20)")
    g.add_argument("--seed", type=int, default=7, help="the same seed writes the same files (default 7)")
    g.add_argument("--out", required=True, help="the folder to write")

    s = sub.add_parser("sandbox", help="run a local imitation of a CRM's API")
    s.add_argument("name", help="highlevel, freshsales, pipedrive or exact")
    s.add_argument("--port", type=int, default=8710, help="port on 127.0.0.1 (default 8710; 0 picks a free one)")
    s.add_argument("--token-env", metavar="VAR",
                   help="take the token the sandbox accepts from this environment variable (default: a random "
                        "one, written to --token-file)")
    s.add_argument("--token-file", help="where to write the token (owner-only; default sandbox-<name>.token)")
    s.add_argument("--location-id", help="the account id it serves (HighLevel: a location id)")
    s.add_argument("--seed", help="JSON file of users, pipelines and settings")
    s.add_argument("--time-scale", type=float, default=1.0,
                   help="run the rate windows this many times faster than the vendor's (default 1: real pace)")
    s.add_argument("--faults", help="inject failures, e.g. '5xx=0.05,latency=50ms,reset=0.01,lost=0.01,429=burst'")
    s.add_argument("--request-log", help="append one JSON line per request to this file (token redacted)")

    i = sub.add_parser("init", help="create a migration workspace")
    i.add_argument("workspace", help="the folder to create (it holds the config, ledger and reports)")
    i.add_argument("--source", required=True, choices=_sources.names(), help="what the practice's data comes from")
    i.add_argument("--export", required=True, help="the export folder (or, for an API source, its URL)")
    i.add_argument("--destination", required=True, choices=_destinations.names(), help="the CRM to load into")
    i.add_argument("--practice-name", help="how the reports name the practice (default: the workspace folder's name)")
    i.add_argument("--base-url", help="the CRM's API root (default: the vendor's), e.g. a sandbox's URL")
    i.add_argument("--location-id", help="HighLevel: the sub-account (location) id")
    i.add_argument("--token-env", help="the environment variable holding the CRM token (never the token itself)")
    i.add_argument("--fallback-owner", help="email of the destination user who gets unmatched owners' records")
    i.add_argument("--source-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a source.options entry, e.g. client_id_env=MY_EXACT_ID (repeatable; never a secret)")

    from .notebook_runs import STEP_LIST

    for st in STEP_LIST:
        if not st.command or st.name == "estimate":
            continue
        c = sub.add_parser(st.name, help=st.help)
        c.add_argument("workspace")
        for option in st.options:
            name, kw = OPTIONS[option]
            c.add_argument(name, **kw)
        c.add_argument("--redact", action="store_true", help=_REDACT_HELP)

    # the reports a consultant sends
    e = sub.add_parser("estimate", help="minimum load time, calendar days at the daily cap and a complexity grade")
    e.add_argument("workspace")
    e.add_argument("--redact", action="store_true", help=_REDACT_HELP)
    r = sub.add_parser("report", help="write a step's report: run a report-only step, or re-render one that has run")
    r.add_argument("workspace")
    r.add_argument("--step", required=True, help="estimate, audit, map, signoff, owners, migrate, reconcile, summary, "
                                                 "rebuild_guide, …")
    r.add_argument("--redact", action="store_true", help=_REDACT_HELP)

    pr = sub.add_parser("propose", help="propose the mapping: a target, confidence and reason for every column")
    pr.add_argument("workspace", help="a workspace, or a folder of CSV/XLSX files (then give --destination)")
    pr.add_argument("--destination", help="the destination, when proposing for a bare folder of files")
    pr.add_argument("--out", help="where to write the mapping for a bare folder (default: ./mapping.yaml)")
    pr.add_argument("--overwrite", action="store_true", help="ignore the workspace's mapping and start again")

    mp = sub.add_parser("mapping", help="the sign-off spreadsheet: export the mapping, import the edits")
    mps = mp.add_subparsers(dest="action", required=True)
    for action, text in (("export", "write WS/mapping.yaml as an .xlsx or .csv sign-off sheet"),
                         ("import", "read a sign-off sheet's edits back into WS/mapping.yaml")):
        a = mps.add_parser(action, help=text)
        a.add_argument("workspace")
        a.add_argument("file", help="the .xlsx or .csv sheet")
        if action == "import":
            a.add_argument("--by", help="who signed off (stamped on fields the sheet confirms)")

    ad = sub.add_parser("adopt", help="rebuild a lost or emptied ledger from the destination, by Source ID")
    ad.add_argument("workspace")
    ad.add_argument("--accept-proposals", action="store_true", help="confirm every proposed mapping field without review")

    st = sub.add_parser("status", help="where the migration stands: runs, records in flight, errors, the daily "
                                       "quota and when it resets, and what to run next")
    st.add_argument("workspace")
    st.add_argument("--json", action="store_true", help="print the status as JSON")

    gr = sub.add_parser("group", help="a dental group's practices: the manifest, its pools, the sample gate, "
                                      "the roll-up (what the Airflow DAG's tasks call)")
    grs = gr.add_subparsers(dest="action", required=True)
    for action, text in (("check", "check the manifest and list its practices, accounts and pools"),
                         ("prepare", "make (or update) each practice's workspace from its manifest line"),
                         ("pools", "print one pool per destination account, as `airflow pools import` reads"),
                         ("rollup", "every practice's figures side by side, with the group's totals")):
        a = grs.add_parser(action, help=text)
        a.add_argument("manifest", help="the group manifest (group.yaml)")
        if action == "prepare":
            a.add_argument("--practice", help="only this practice (default: all)")
    for action, text in (("gate", "exit 0 when the practice's load may start: mapping confirmed, sample clean "
                                  "or signed off (else exit 2, saying why)"),
                         ("signoff", "record that a person accepts the practice's newest sample, differences and all"),
                         ("render", "render the reports of the step notebooks a scheduler ran in the workspace")):
        a = grs.add_parser(action, help=text)
        a.add_argument("workspace")
        if action == "signoff":
            a.add_argument("--by", required=True, help="who read the sample's diff and accepts it")

    d = sub.add_parser("demo", help="generate → sandbox → init → audit → map → migrate → reconcile")
    d.add_argument("--source", default="dent-o-soft", choices=_sources.names(), help="default dent-o-soft")
    d.add_argument("--destination", default="highlevel", choices=_destinations.names(), help="default highlevel")
    d.add_argument("--patients", type=int, default=500, help="patients in the generated export (default 500)")
    d.add_argument("--seed", type=int, default=7, help="the generator's seed (default 7)")
    d.add_argument("--out", default="demo-output", help="where the export and the workspace go (default demo-output)")
    d.add_argument("--request-log", help="append the sandbox's requests to this file, one JSON line each (the "
                   "sample's staging account to <name>.staging.jsonl beside it)")
    d.add_argument("--time-scale", type=float, default=None,
                   help="count the sandbox's rate windows this much faster than real time (default 4; 1 = real pace)")
    return p


def _generate(args) -> int:
    from .sources import registry

    out = registry.get(args.source)().generate(args.out, patients=args.patients, seed=args.seed)
    print(f"generated {args.source} export with {args.patients} patients in {out}")
    return 0


def _sandbox(args) -> int:
    sandbox = _sandboxes()

    token = os.environ.get(args.token_env, "") if args.token_env else ""
    if args.token_env and not token:
        raise ConfigError(f"environment variable {args.token_env} is not set")
    sandbox.serve(args.name, port=args.port, token=token or None, token_file=args.token_file,
                  location_id=args.location_id, seed=args.seed, time_scale=args.time_scale, faults=args.faults,
                  request_log=args.request_log)
    return 0


def _sandboxes():
    """The sandboxes package (the ``[sandbox]`` extra), or a one-line error naming the install."""
    try:
        import crm_sandbox
    except ImportError:
        raise ConfigError("the sandboxes are not installed: pip install 'dental-crm-toolkit[sandbox]'") from None
    return crm_sandbox


def _init(args) -> int:
    from .workspace import init_workspace

    options = {"location_id": args.location_id} if args.location_id else {}
    bad = [o for o in args.source_option if "=" not in o]
    if bad:
        raise ConfigError(f"--source-option {bad[0]!r}: expected KEY=VALUE")
    source_options = dict(o.split("=", 1) for o in args.source_option)
    ws = init_workspace(args.workspace, source=args.source, export=args.export, destination=args.destination,
                        base_url=args.base_url, token_env=args.token_env, options=options,
                        fallback_owner=args.fallback_owner, source_options=source_options,
                        practice_name=args.practice_name)
    print(f"workspace {ws.root}: {ws.source} -> {ws.destination}; token read from ${ws.destination_config.token_env}")
    return 0


def _step(args) -> int:
    from .load.progress import FORMAT_ENV, STEP_ENV, emit_event
    from .notebook_runs import STEP, StepFailed, run_step
    from .workspace import Workspace

    step = STEP[args.command]
    ws = Workspace.load(args.workspace)
    if step.writes or args.command == "reconcile":
        ws.destination_config.token()  # an unset variable stops here, before any call
    options = {"accept_proposals": True} if getattr(args, "accept_proposals", False) else {}
    options |= {k: getattr(args, k) for k in step.options if k != "accept_proposals" and getattr(args, k, None) is not None}
    redact = bool(getattr(args, "redact", False))
    # the step's kernel inherits these: its progress goes to this terminal (toolkit/load/progress.py)
    os.environ[FORMAT_ENV], os.environ[STEP_ENV] = args.log_format, args.command
    emit_event("step_started", workspace=str(ws.root))
    try:
        html = run_step(ws, args.command, redact=redact, **options)
    except StepFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = exit_code(error_type(exc.ename))
        emit_event("step_finished", exit_code=code, error=str(exc))
        return code
    figures = json.loads((ws.reports_dir / f"{args.command}.json").read_text(encoding="utf-8"))
    line = {"audit": _audit_line,
            "map": lambda f: f"mapping: {len(f['unconfirmed'])} fields awaiting confirmation",
            "migrate": lambda f: f"migrate: {f['status']}, source records {f.get('source_records')}, "
                                 f"this run's operations {f['counts']}"
                                 + (f" ({f['message']})" if f["message"] else ""),
            "reconcile": lambda f: "reconcile: " + ", ".join(f"{k} {v}" for k, v in f["summary"].items()),
            "sample": lambda f: f"sample: {f['records']} records, {f['fields_compared']} fields compared: "
                                + ", ".join(f"{k} {v}" for k, v in f["verdicts"].items()),
            "delta": lambda f: f"delta since {f['since']}: {f['status']}, this run's operations {f['counts']}, "
                               f"{len(f['deleted_in_source'])} deleted in the source ("
                               + ("deleted from the CRM too" if any(x["action"].startswith("deleted")
                                                                    for x in f["deleted_in_source"]) else "kept") + ")"
                               + (f" ({f['message']})" if f["message"] else ""),
            "rollback": lambda f: f"rollback of {f['of_run']}: {f['status']}, {f['counts']}"
                                  + (f" ({f['message']})" if f["message"] else ""),
            "estimate": _estimate_line}.get(args.command, lambda f: f"{args.command}: {f.get('summary', '')}")
    print(line(figures))
    print(f"report: {html}")
    if redact:
        print(f"redacted report: {html.parent / 'redacted' / html.name}")
    if args.command == "reconcile" and not figures["summary"].get("ok"):
        print("reconcile: not ok; look first at: " + "; ".join(figures.get("look_first") or []), file=sys.stderr)
        code = RECORD_ERRORS
    else:
        code = _step_status(figures) if step.writes else DONE
    emit_event("step_finished", exit_code=code, report=str(html), summary=line(figures))
    return code


def _step_status(figures: dict) -> int:
    """A writing step's exit status from its figures: paused at the quota, record errors, or done."""
    if figures.get("status") == "paused":
        print(f"stopped at the daily quota: run the same command again after {figures.get('resume_at') or 'the reset'}",
              file=sys.stderr)
        return TRY_LATER
    counts = figures.get("counts") or {}
    # rows the reader set aside as malformed were named by the audit before the load and no rerun
    # can load them: they are reported, but alone they do not fail a scheduled run
    aside = figures.get("set_aside") or 0
    errors = (counts.get("error") or counts.get("errors") or 0) - aside
    if aside:
        print(f"{aside} source rows set aside as malformed in the export (file and line in the report)", file=sys.stderr)
    if errors > 0 or figures.get("status") == "incomplete":
        print(f"finished with {errors or 'some'} records in error: see the report", file=sys.stderr)
        return RECORD_ERRORS
    return DONE


def _estimate_line(f: dict) -> str:
    s = f["summary"]
    return (f"estimate: {s['records to write']:,} records to write in {f['calls']:,} calls; minimum load time "
            f"{s['minimum load time']}; {f['calendar_days']} calendar day(s) at the daily cap of {f['daily_cap']:,} "
            f"{f['unit']}; complexity {f['grade']} ({f['grade_word']})")


def _report(args) -> int:
    from .notebook_runs import REPORT_ONLY, StepFailed, render_report, run_step
    from .workspace import Workspace

    ws = Workspace.load(args.workspace)
    try:
        if args.step in REPORT_ONLY:
            html = run_step(ws, args.step, redact=args.redact)
        else:  # a step that writes to the destination is never run again for a document
            html = render_report(ws, args.step)
            if args.redact:
                render_report(ws, args.step, redact=True)
    except StepFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_code(error_type(exc.ename))
    print(f"report: {html}")
    if args.redact:
        print(f"redacted report: {html.parent / 'redacted' / html.name}")
    return 0


def _demo(args) -> int:
    from . import demo

    scale = demo.DEMO_TIME_SCALE if args.time_scale is None else args.time_scale
    return demo.run(source=args.source, destination=args.destination, patients=args.patients, seed=args.seed,
                    out=args.out, request_log=args.request_log, time_scale=scale)


def _adopt(args) -> int:
    from .workflow import adopt, open_workspace

    ws = open_workspace(args.workspace)
    ws.destination_config.token()
    out = adopt(ws, accept_proposals=args.accept_proposals)
    per = ", ".join(f"{o['source_object']} -> {o['target']} {o['adopted']}" for o in out.objects if o["adopted"])
    print(f"adopt: {out.adopted} records found by Source ID and entered in the ledger (run {out.run_id})"
          + (f": {per}" if per else ""))
    if out.duplicates:
        print(f"  {len(out.duplicates)} Source IDs are carried by more than one record; see "
              f"{ws.reports_dir / 'adopt.json'}")
    return 0


def _propose(args) -> int:
    from pathlib import Path as _P  # noqa: N814

    from .mapping import propose_mapping, read_folder
    from .workflow import open_workspace, propose

    where = _P(args.workspace)
    if (where / "workspace.yaml").is_file():
        spec, out = propose(open_workspace(where), overwrite=args.overwrite), where / "mapping.yaml"
    else:
        if not args.destination:
            raise ConfigError(f"{where} is not a workspace: give --destination to propose for a folder of files")
        spec = propose_mapping(read_folder(where), args.destination)
        out = _P(args.out or "mapping.yaml")
        spec.save(out)
    fields = [f for o in spec.objects for f in o.fields]
    low = sum(1 for f in fields if f.status == "proposed" and f.confidence < 0.8)
    routes = ", ".join(f"{o.source} -> {o.target}" for o in spec.objects)
    print(f"proposed {len(fields)} fields over {len(spec.objects)} objects ({routes}); {low} below the confirmation "
          f"threshold; {len(spec.unconfirmed())} awaiting confirmation")
    for left in spec.extra.get("not_migrated", []):
        print(f"  not migrated: {left['source']}: {left['reason']}")
    print(f"mapping: {out}")
    return 0


def _mapping(args) -> int:
    from .mapping import MappingSpec, export_mapping, import_mapping
    from .workflow import open_workspace

    ws = open_workspace(args.workspace)
    spec = MappingSpec.load(ws.mapping_path)
    if args.action == "export":
        print(f"sign-off sheet: {export_mapping(spec, args.file)} ({len(spec.unconfirmed())} fields awaiting confirmation)")
        return 0
    import_mapping(spec, args.file, confirmed_by=args.by)
    spec.save(ws.mapping_path)
    print(f"mapping: {ws.mapping_path} updated from {args.file}; {len(spec.unconfirmed())} fields awaiting confirmation")
    return 0


def _status(args) -> int:
    from .workflow import open_workspace, status

    st = status(open_workspace(args.workspace))
    print(json.dumps(st.to_dict(), indent=2) if args.json else "\n".join(st.lines()))
    return DONE


def _group(args) -> int:
    from .workflow import group, open_workspace

    if args.action in {"gate", "signoff", "render"}:
        ws = open_workspace(args.workspace)
        if args.action == "gate":
            print(group.sample_gate(ws)["why"])
        elif args.action == "signoff":
            record = group.signoff_sample(ws, args.by)
            print(f"sample {record['run_id']} signed off by {record['by']}")
        else:
            for path in group.render_reports(ws):
                print(f"report: {path}")
        return DONE
    manifest = group.load_manifest(args.manifest)
    if args.action == "check":
        for p in manifest.practices:
            print(f"{p.name}: {p.line['source']} → {p.line['destination']} ({p.account}; pool {p.pool}) in {p.workspace}")
    elif args.action == "prepare":
        for ws in group.prepare(manifest, args.practice):
            print(f"workspace: {ws.root}")
    elif args.action == "pools":
        print(json.dumps(group.pools(manifest), indent=2))
    else:
        out = group.rollup(manifest)
        for r in out["practices"]:
            print(f"{r['name']}: {r['stage']}" + (f", {r['source_records']:,} source records, {r['unaccounted']:,} "
                                                  f"unaccounted, ok {r['ok']}" if "ok" in r else ""))
        print(f"{manifest.group}: {out['reconciled']} of {out['of']} practices reconciled; ok {out['ok']}")
        return DONE if out["ok"] else RECORD_ERRORS
    return DONE


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {"generate": _generate, "sandbox": _sandbox, "init": _init, "demo": _demo, "propose": _propose,
               "mapping": _mapping, "report": _report, "adopt": _adopt, "status": _status,
               "group": _group}.get(args.command, _step)
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted: the ledger holds everything done so far; run the same command again to resume",
              file=sys.stderr)
        return INTERRUPTED
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
