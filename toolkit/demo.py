"""``crm-migrate demo``: a whole migration on a synthetic practice and a local sandbox CRM.

generate → start the sandbox → init → audit → map → migrate → reconcile, through the same
notebooks and calls a real migration uses; only the export and the CRM are stand-ins.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

from .errors import ConfigError
from .load.progress import FORMAT_ENV, STEP_ENV
from .notebook_runs import DEMO_STEPS, run_step
from .sources import registry as sources
from .workspace import default_token_env, init_workspace, write_private

__all__ = ["run"]


def _crm_users(export: Path) -> list[dict]:
    path = export / "crm_users.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def fallback_user(users: list[dict]) -> str | None:
    """The practice office's user, else the first user: who owns records whose provider has no CRM user."""
    office = [u["email"] for u in users if u["email"].split("@")[0].lower() in {"office", "frontdesk", "manager"}]
    return (office or [u["email"] for u in users] or [None])[0]


#: the demo's sandbox counts rate windows this much faster than real time, so that 500 patients
#: load in about a minute and a half instead of five; the engine still paces from the headers
DEMO_TIME_SCALE = 4.0


def staging_log(request_log: str | Path) -> Path:
    """Where the sample's staging sandbox logs its requests, beside the destination's log."""
    path = Path(request_log)
    return path.with_name(path.stem + ".staging.jsonl")


def run(*, source: str = "dent-o-soft", destination: str = "highlevel", patients: int = 500, seed: int = 7,
        out: str | Path = "demo-output", request_log: str | None = None, time_scale: float = DEMO_TIME_SCALE,
        echo=print) -> int:
    """Run the demo; returns the process exit status (non-zero when a record is unaccounted for).

    Args:
        time_scale: how much faster than the vendor's real windows the destination sandbox
            counts its rate limits. The engine paces itself from the sandbox's headers either
            way; 1.0 shows a real account's pace (500 patients then take several minutes).
    """
    try:  # the sandboxes are a product of their own (the [sandbox] extra): only the demo, CLI and tests start them
        import crm_sandbox as sandbox
    except ImportError:
        raise ConfigError("the demo runs against the sandboxes: pip install 'dental-crm-toolkit[sandbox]'") from None

    out = Path(out).resolve()
    src = sources.get(source)()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    os.chmod(out, 0o700)
    export = out / "export"
    src.generate(export, patients=patients, seed=seed)
    echo(f"demo: generated {source} export ({patients} patients) in {export}")
    users = _crm_users(export)
    with contextlib.ExitStack() as stack:
        location, source_options = export, {}
        if getattr(src, "sandbox", None):  # an API source: its own sandbox serves the generated data
            conn = src.connect_demo(stack.enter_context(sandbox.start(src.sandbox, seed=str(export))))
            os.environ.update(conn.env)  # credentials reach the step kernels through the environment only
            location, source_options = conn.location, conn.options
            echo(f"demo: {source} sandbox at {conn.location}")
        box = stack.enter_context(sandbox.start(destination, seed={"users": users}, request_log=request_log,
                                                time_scale=time_scale))
        # the sample goes to a staging account of its own, as a practice's would
        staging = stack.enter_context(sandbox.start(
            destination, seed={"users": users}, time_scale=time_scale,
            request_log=str(staging_log(request_log)) if request_log else None))
        token_env = default_token_env(destination)
        os.environ[token_env] = box.token  # read by the step kernels from their environment, never a parameter
        os.environ[token_env + "_STAGING"] = staging.token
        fallback = fallback_user(users)
        ws = init_workspace(out / "workspace", source=source, export=location, destination=destination,
                            base_url=box.url, token_env=token_env, options=box.options,
                            fallback_owner=fallback, source_options=source_options)
        ws.extra["staging"] = {"base_url": staging.url, "token_env": token_env + "_STAGING", "options": staging.options}
        ws.extra["practice_name"] = f"Demo practice ({src.display_name or source})"
        ws.save()
        pace = ("the vendor's real rate windows" if time_scale == 1 else
                f"rate windows {time_scale:g}x faster than the vendor's (--time-scale 1 for the real pace)")
        echo(f"demo: {destination} sandbox at {box.url} ({pace}); workspace {ws.root}")
        os.environ.setdefault(FORMAT_ENV, "text")  # each step's progress in this terminal
        for step, options in DEMO_STEPS:
            os.environ[STEP_ENV] = step
            html = run_step(ws, step, **options)
            echo(f"demo: {step} done: {html}")
        # what the sandbox CRM holds at the end, for checking by hand or by the tests
        write_private(out / "sandbox_state.json", json.dumps(box.state(), indent=1, ensure_ascii=False))
    summary = json.loads((ws.reports_dir / "reconcile.json").read_text(encoding="utf-8"))["summary"]
    line = (f"demo: {summary['source_records']} source records: {summary['created']} created, "
            f"{summary['updated']} updated, {summary['merged']} merged into other records, "
            f"{summary['excluded']} excluded by the mapping, {summary['skipped']} skipped, {summary['errors']} errors, "
            f"{summary['unaccounted']} unaccounted; reports in {ws.reports_dir}")
    echo(line)
    sys.stdout.flush()
    return 1 if summary["unaccounted"] else 0
