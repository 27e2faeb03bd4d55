"""What every step of a run shares: the workspace's files, the plan built once from the source,
the destination and its staging twin, owner resolution, and the engine with the writer lock."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .. import _paths
from ..destinations import DestinationConfig
from ..destinations import registry as destinations
from ..errors import ConfigError, MappingError, NotFoundError, SourceError
from ..file_lock import WriterLock
from ..load.engine import Engine
from ..load.ledger import Ledger, LedgerMismatchError
from ..load.owner_resolution import OwnerResolution, resolve_owners
from ..load.retries import Retrier
from ..mapping import MappingSpec, Plan, build_plan
from ..shapes import FILE_OBJECT
from ..workspace import Workspace, write_private

__all__ = ["ENGINE_DEFAULTS", "open_workspace", "write_figures", "template_path", "plan", "owners",
           "staging_destination", "custom_objects"]

#: engine settings a workspace can override in its ``engine:`` block
ENGINE_DEFAULTS = {
    # calls in flight per destination account, sharing its one limiter: on loopback one keeps the
    # quota full; a CRM that answers in 200-300 ms needs several (BENCHMARKS.md, engine throughput)
    "workers": 6,
    # share of the vendor's burst quota the limiter allows itself; the rest absorbs clock skew
    "pace": 0.97,
    # read each record before updating it, so a rollback restores edits made in the CRM since the
    # last run, at one extra call per update; off, the ledger's last-written values are "before"
    "read_before": False,
    "max_attempts": 6,
    # largest file to upload, in bytes; None = what the destination adapter says (HighLevel: 25 MB)
    "max_file_bytes": None,
}


def open_workspace(path: str | Path) -> Workspace:
    """Open the workspace at ``path``."""
    return Workspace.load(path)


def write_figures(ws: Workspace, step: str, figures: dict) -> Path:
    """Write a step's figures as ``WS/reports/<step>.json`` (owner-readable only)."""
    path = ws.reports_dir / f"{step}.json"
    write_private(path, json.dumps(figures, indent=2, default=str, ensure_ascii=False))
    return path


# --- 02 mapping ------------------------------------------------------------------------------
def template_path(source: str, destination: str) -> Path:
    return _paths.TEMPLATES / "mappings" / f"{source}__{destination}.yaml"



# --- engine runs: shared set-up -------------------------------------------------------------
def _engine_settings(ws: Workspace, **overrides) -> dict:
    cfg = {**ENGINE_DEFAULTS, **(ws.extra.get("engine") or {}), **overrides}
    unknown = sorted(set(cfg) - set(ENGINE_DEFAULTS) - {"note_unchanged"})
    if unknown:
        raise ConfigError(f"{ws.root / 'workspace.yaml'}: unknown engine settings {', '.join(unknown)} "
                          f"(known: {', '.join(ENGINE_DEFAULTS)})")
    return cfg


def _engine(ws: Workspace, dest, ledger: Ledger, *, progress: bool, **overrides) -> Engine:
    cfg = _engine_settings(ws, **overrides)
    return Engine(dest, ledger, progress=progress, files_root=ws.files_root, own_files=(ws.inline_images_dir,), **cfg)


@contextmanager
def _writing(ws: Workspace, command: str, dest, ledger_path: Path) -> Iterator[Ledger]:
    """The ledger, opened for a step that writes to ``dest``: one writer per workspace.

    Takes the workspace's writer lock (refusing, with the holder named, while another process
    writes), ties the ledger to this workspace and account, and closes runs a killed process
    left "running" (their unfinished calls are settled by the engine's next run).
    """
    with WriterLock(ws.root, command), Ledger(ledger_path) as ledger:
        ledger.bind(workspace=ws.id, account=dest.account)
        ledger.close_dead_runs(by=command)
        yield ledger


def _refuse_unknown_records(engine: Engine, ledger: Ledger, the_plan: Plan, ws: Workspace, probes: int = 2) -> None:
    """Refuse to load with a ledger that knows nothing into an account that holds this plan's records.

    A deleted, emptied or lost ledger must never mean "start afresh": everything would be
    created a second time. A few planned records of each object are looked up by Source ID;
    if any exists, the load stops and names ``crm-migrate adopt``, which rebuilds the ledger
    from the destination.

    Raises:
        LedgerMismatchError: the destination already holds records this ledger does not know.
    """
    if ledger.has_writes():
        return
    for op in the_plan.objects:
        if op.target == FILE_OBJECT:
            continue
        for pr in [p for p in op.records if not p.skip_reason][:probes]:
            try:
                found = engine.call(engine.dest.find_by_source_id, op.target, pr.source_key)
            except NotFoundError:  # the object itself does not exist there yet (a custom object)
                break
            if found:
                raise LedgerMismatchError(
                    f"the ledger {ledger.path} holds no record of earlier loads, but {engine.dest.name} already has "
                    f"{op.target} {found} with Source ID {pr.source_key} ({op.source_object}): loading now would "
                    f"create it twice. Run `crm-migrate adopt {ws.root}` to rebuild the ledger from the destination, "
                    f"then migrate again")


def _connected(ws: Workspace, client=None, *, staging: bool = False):
    """The destination (or the workspace's staging target), with the plan order it loads in."""
    dest = staging_destination(ws, client) if staging else ws.connect(client)
    return dest, tuple(dest.objects)


def owners(ws: Workspace, the_plan: Plan | None = None, *, client=None, staging: bool = False) -> OwnerResolution:
    """Match the source's owners to the destination's users, before anything is loaded.

    Writes ``WS/reports/owners.json``: every source owner, its records, the user it matched and
    the recommended action. Nothing is written to the destination.
    """
    if the_plan is None:
        _, the_plan = plan(ws, accept_proposals=True)
    dest, _ = _connected(ws, client, staging=staging)
    fallback = (ws.extra.get("staging") or {}).get("fallback_user_email") if staging else None
    users = Retrier(int(_engine_settings(ws)["max_attempts"])).call(dest.list_users)
    res = resolve_owners(the_plan.owner_emails(), users, fallback or ws.fallback_owner)
    if not staging:
        rows = res.rows()
        write_figures(ws, "owners", {"summary": {"owners": len(rows), "matched": sum(r["matched"] for r in rows),
                                                 "unmatched": len(res.unmatched),
                                                 "records_to_fallback": sum(res.unmatched.values())},
                                     "owners": rows, "fallback": ws.fallback_owner})
    return res


def staging_destination(ws: Workspace, client=None):
    """The staging account named in the workspace's ``staging:`` block.

    The block has the destination's own keys — ``base_url``, ``token_env`` and ``options``
    (and ``name`` when it differs from the destination's) — and optionally a
    ``fallback_user_email`` of the staging account.

    Raises:
        ConfigError: no staging block, or one that points at the production account.
    """
    block = ws.extra.get("staging")
    if not block:
        raise ConfigError(f"{ws.root / 'workspace.yaml'} names no staging target: add a `staging:` block with "
                          "base_url, token_env and options (a sandbox will do: `crm-migrate sandbox highlevel`)")
    try:
        cfg = DestinationConfig(base_url=block["base_url"], token_env=block["token_env"],
                                options=dict(block.get("options") or {}))
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{ws.root / 'workspace.yaml'}: the staging block lacks {exc}") from None
    prod = ws.destination_config
    if cfg.base_url.rstrip("/") == prod.base_url.rstrip("/") and cfg.options == prod.options:
        raise ConfigError("the staging target is the production account: a sample must never load into it")
    cfg.token()
    return destinations.get(block.get("name") or ws.destination)(cfg, client)


def custom_objects(ws: Workspace, the_plan: Plan) -> dict[str, dict]:
    """The custom objects ``the_plan`` loads: key -> ``{singular, plural, primary_field}``.

    Raises:
        MappingError: a custom-object route whose mapping has no ``schema:`` to create it from.
    """
    targets = {o.target for o in the_plan.objects if o.target.startswith("custom_object:")}
    if not targets:
        return {}
    out = {}
    spec = the_plan.mapping if the_plan.mapping is not None else MappingSpec.load(ws.mapping_path)
    for om in spec.objects:
        if om.target in targets and om.extra.get("status") != "excluded":
            schema = om.extra.get("schema") or {}
            if not all(schema.get(k) for k in ("singular", "plural", "primary_field")):
                raise MappingError(f"{ws.mapping_path}: route {om.source} -> {om.target} needs "
                                   "`schema: {singular, plural, primary_field}` to create the custom object")
            out[om.target.split(":", 1)[1]] = {k: schema[k] for k in ("singular", "plural", "primary_field")}
    return out


def _ordered(the_plan: Plan, order: tuple[str, ...]) -> Plan:
    rank = {name: i for i, name in enumerate(order)}
    the_plan.objects.sort(key=lambda p: rank.get(p.target, len(rank)))
    return the_plan


def plan(ws: Workspace, spec: MappingSpec | None = None, *, accept_proposals: bool = False):
    """Read the source and build the Plan under the workspace's mapping (no network call).

    Raises:
        MappingError: fields are still unconfirmed and ``accept_proposals`` is false.
    """
    spec = spec or MappingSpec.load(ws.mapping_path)
    pending = spec.unconfirmed()
    if pending and not accept_proposals:
        shown = "; ".join(pending[:10]) + (f"; and {len(pending) - 10} more" if len(pending) > 10 else "")
        raise MappingError(f"{len(pending)} mapping fields are not confirmed: {shown}. Confirm them in 02_mapping "
                           "or run with --accept-proposals")
    snapshot = ws.read_source()
    for empty in snapshot.empty_objects():
        if empty["referred_by"] and empty["object"] in {o.source for o in spec.objects}:
            raise SourceError(f"has a header but no records, yet {', '.join(empty['referred_by'])} refer to "
                              f"{empty['object']}: the export is incomplete; export it again (nothing was written)",
                              file=empty["file"], row=2)
    return snapshot, build_plan(snapshot, spec, inline_dir=ws.inline_images_dir)
