"""The steps of a migration, one call each: what the notebooks and the CLI run.

Each step reads the workspace, does its work through the toolkit's modules, writes its figures
to ``WS/reports/<step>.json`` and returns them, so a notebook is a list of these calls and a
display of what they return.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from . import _paths
from .audit import AuditReport, run_audit
from .load.delta import select_changes
from .destinations import DestinationConfig
from .shapes import SOURCE_ID_FIELD
from .destinations import registry as destinations
from .load.engine import Engine, RunResult
from .errors import ConfigError, MappingError, NotFoundError, SourceError
from .verify.field_diff import VERDICTS, diff_sample
from .load.attachments import FILE_OBJECT
from .file_lock import WriterLock
from .load.ledger import Ledger, LedgerMismatchError
from .mapping import MappingSpec, Plan, build_plan
from .load.owner_resolution import OwnerResolution, resolve_owners
from .load.retries import Retrier
from .verify.reconciliation import Reconciliation, reconcile_run
from .load.rollback import RollbackResult
from .load.rollback import rollback as rollback_run
from .load.sample import select_sample
from .workspace import Workspace, write_private

__all__ = ["open_workspace", "audit", "prepare_mapping", "owners", "sample", "migrate", "delta", "rollback",
           "reconcile", "write_figures", "MigrationOutcome", "SampleOutcome", "DeltaOutcome", "RollbackResult",
           "Reconciliation", "ENGINE_DEFAULTS"]

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


# --- 01 audit --------------------------------------------------------------------------------
def audit(ws: Workspace, expectations_dir: str | Path | None = None) -> AuditReport:
    """Read the source and audit it against its Great Expectations suites."""
    # the audit reads leniently: schema drift and unreadable files are reported, not raised
    from .sources import registry as _sources

    report = run_audit(ws.open_source().read_for_audit(ws.export), expectations_dir or _paths.EXPECTATIONS)
    write_figures(ws, "audit", report.to_dict())
    return report


# --- 02 mapping ------------------------------------------------------------------------------
def template_path(source: str, destination: str) -> Path:
    return _paths.TEMPLATES / "mappings" / f"{source}__{destination}.yaml"


def prepare_mapping(ws: Workspace, *, accept_proposals: bool = False, overwrite: bool = False) -> MappingSpec:
    """Give the workspace its mapping: the confirmed one if it exists, else the pair's template.

    Args:
        accept_proposals: confirm every proposed field (unattended runs; the demo).
        overwrite: start again from the template even if a mapping exists.
    """
    if ws.mapping_path.is_file() and not overwrite:
        spec = MappingSpec.load(ws.mapping_path)
    else:
        from .mapping import propose_mapping, template_fits

        path = template_path(ws.source, ws.destination)
        spec = MappingSpec.load(path) if path.is_file() else None
        if spec is None or not template_fits(snapshot := ws.read_source(), spec):
            # no template for this pair, or one made for other files (a generic export): the
            # proposer writes the map, keeping whatever of the template fits (issue 5)
            spec = propose_mapping(ws.read_source() if spec is None else snapshot, ws.destination,
                                   source=ws.source, base=spec)
    if accept_proposals:
        spec.accept_proposals()
    spec.save(ws.mapping_path)
    write_figures(ws, "map", {"mapping": str(ws.mapping_path), "unconfirmed": spec.unconfirmed(),
                                  "objects": [o.to_dict() for o in spec.objects]})
    return spec


def propose(ws: Workspace, *, overwrite: bool = False) -> MappingSpec:
    """Propose the workspace's mapping and write it to ``WS/mapping.yaml``, every new field ``proposed``.

    Starts from the workspace's mapping if it has one (only columns it does not mention are
    proposed, so nothing confirmed is lost), else from the pair's template, else from nothing.

    Args:
        overwrite: ignore an existing mapping and start again.
    """
    from .mapping import propose_mapping

    snapshot = ws.read_source()
    base = None
    if ws.mapping_path.is_file() and not overwrite:
        base = MappingSpec.load(ws.mapping_path)
    elif template_path(ws.source, ws.destination).is_file():
        base = MappingSpec.load(template_path(ws.source, ws.destination))
    spec = propose_mapping(snapshot, ws.destination, source=ws.source, base=base)
    spec.save(ws.mapping_path)
    write_figures(ws, "propose", {"mapping": str(ws.mapping_path), "unconfirmed": spec.unconfirmed(),
                                  "objects": [o.to_dict() for o in spec.objects],
                                  "not_migrated": spec.extra.get("not_migrated", [])})
    return spec


def mapping_table(spec: MappingSpec) -> pd.DataFrame:
    """Every field of the mapping as one table row, for review."""
    rows = [{"object": f"{o.source} -> {o.target}", "source": f.source if isinstance(f.source, str) else
             (" | ".join(f.source) if f.source else f.template or repr(f.value)), "target": f.target,
             "type": f.type, "transform": f.transform, "status": f.status, "confidence": f.confidence, "reason": f.reason}
            for o in spec.objects for f in o.fields]
    return pd.DataFrame(rows)


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
    for om in MappingSpec.load(ws.mapping_path).objects:
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


# --- 03 sample -------------------------------------------------------------------------------
@dataclass
class SampleOutcome:
    """A sample loaded into staging and its field-level diff (one row per record and field)."""

    result: RunResult
    owners: OwnerResolution
    coverage: list[dict]
    diff: pd.DataFrame

    def verdicts(self) -> dict[str, int]:
        counts = self.diff["verdict"].value_counts()
        return {v: int(counts.get(v, 0)) for v in VERDICTS}

    def coverage_table(self) -> pd.DataFrame:
        """Per object: records available and sampled, strata seen and represented."""
        return pd.DataFrame(self.coverage).assign(stratified_by=lambda d: d["stratified_by"].map(", ".join))

    def by_field(self) -> pd.DataFrame:
        """Verdict counts per field, worst first."""
        if not len(self.diff):
            return pd.DataFrame(columns=["field", *VERDICTS])
        t = self.diff.groupby(["object", "field", "verdict"]).size().unstack(fill_value=0)
        t = t.reindex(columns=list(VERDICTS), fill_value=0)
        return t.sort_values(["mismatch", "missing"], ascending=False).reset_index()

    def to_dict(self) -> dict:
        return {"run_id": self.result.run_id, "status": self.result.status, "message": self.result.message,
                "counts": self.result.counts, "records": int(self.diff[["object", "source_key"]].drop_duplicates().shape[0]),
                "fields_compared": len(self.diff), "verdicts": self.verdicts(), "coverage": self.coverage,
                "owners": self.owners.rows(), "rows": self.diff.to_dict("records")}


def sample(ws: Workspace, *, size: int = 200, seed: int = 0, accept_proposals: bool = False, progress: bool = True,
           client=None) -> SampleOutcome:
    """Load a stratified, dependency-closed sample into the staging target and diff it field by field.

    The staging account has its own ledger (``WS/staging/ledger.sqlite``), so the production
    ledger never sees staging ids. Figures go to ``WS/reports/sample.json``.
    """
    snapshot, the_plan = plan(ws, accept_proposals=accept_proposals)
    dest, order = _connected(ws, client, staging=True)
    picked = select_sample(_ordered(the_plan, order), size=size, seed=seed)
    res = owners(ws, picked.plan, client=client, staging=True)
    with _writing(ws, "sample", dest, ws.root / "staging" / "ledger.sqlite") as ledger:
        engine = _engine(ws, dest, ledger, progress=progress)
        result = engine.run(picked.plan, res, mode="sample", info={"size": size, "seed": seed},
                            custom_objects=custom_objects(ws, picked.plan))
        diff = diff_sample(picked.plan, MappingSpec.load(ws.mapping_path), snapshot, ledger, dest, read=engine.call)
    outcome = SampleOutcome(result, res, picked.coverage, diff)
    write_figures(ws, "sample", outcome.to_dict())
    return outcome


# --- 04 migrate ------------------------------------------------------------------------------
@dataclass
class MigrationOutcome:
    result: RunResult
    owners: OwnerResolution
    plan_counts: dict[str, int]
    custom_fields: list[str]

    def to_dict(self) -> dict:
        r = self.result
        return {"run_id": r.run_id, "mode": r.mode, "status": r.status, "message": r.message,
                "resume_at": r.resume_at, "seconds": round(r.seconds, 1), "counts": r.counts, "retries": r.retries,
                "files_as_links": r.files_as_links, "plan": self.plan_counts, "custom_fields": self.custom_fields,
                "owners": self.owners.rows()}


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


def migrate(ws: Workspace, *, accept_proposals: bool = False, progress: bool = True, client=None) -> MigrationOutcome:
    """Provision the custom fields the mapping needs, then load every record through the engine.

    Safe to run again at any time: it resumes an interrupted or paused run, and rewrites only
    records whose content (or resolved owner, links or stage) changed.
    """
    snapshot, the_plan = plan(ws, accept_proposals=accept_proposals)
    dest, order = _connected(ws, client)
    _ordered(the_plan, order)
    res = owners(ws, the_plan, client=client)
    with _writing(ws, "migrate", dest, ws.ledger_path) as ledger:
        engine = _engine(ws, dest, ledger, progress=progress)
        _refuse_unknown_records(engine, ledger, the_plan, ws)
        result = engine.run(the_plan, res, mode="full",
                                                                  watermark=snapshot.watermark,
                                                                  info={"unmatched_owners": sorted(res.unmatched)},
                                                                  custom_objects=custom_objects(ws, the_plan))
    outcome = MigrationOutcome(result, res, the_plan.counts(), [f"{c.object}.{c.key}" for c in the_plan.custom_fields])
    write_figures(ws, "migrate", outcome.to_dict())
    return outcome


# --- 06 delta --------------------------------------------------------------------------------
@dataclass
class DeltaOutcome:
    """A delta run: what was offered per object, what the engine did, and source deletions."""

    result: RunResult
    owners: OwnerResolution
    since: str | None
    baseline_run: str
    objects: list[dict]
    deleted: list[dict]

    def to_dict(self) -> dict:
        r = self.result
        return {"run_id": r.run_id, "mode": r.mode, "status": r.status, "message": r.message, "resume_at": r.resume_at,
                "seconds": round(r.seconds, 1), "since": self.since, "baseline_run": self.baseline_run,
                "counts": r.counts, "retries": r.retries, "objects": self.objects,
                "deleted_in_source": self.deleted, "files_as_links": r.files_as_links, "owners": self.owners.rows()}

    def objects_table(self) -> pd.DataFrame:
        """Per object: how changes were found, records offered, new, deleted in the source."""
        return pd.DataFrame(self.objects)

    def deleted_table(self) -> pd.DataFrame:
        """Migrated records no longer in the source (kept in the destination)."""
        return pd.DataFrame(self.deleted, columns=["object", "source_key", "dest_object", "dest_id", "action"])


def delta(ws: Workspace, *, accept_proposals: bool = False, progress: bool = True, client=None) -> DeltaOutcome:
    """Load only what changed in the source since the last full or delta run; report deletions.

    Raises:
        ConfigError: there is no finished full run to continue from.
    """
    snapshot, the_plan = plan(ws, accept_proposals=accept_proposals)
    dest, order = _connected(ws, client)
    _ordered(the_plan, order)
    res = owners(ws, the_plan, client=client)
    with _writing(ws, "delta", dest, ws.ledger_path) as ledger:
        chosen = select_changes(the_plan, snapshot, ledger, matched_owners=set(res.matched))
        engine = _engine(ws, dest, ledger, progress=progress, note_unchanged=False)
        result = engine.run(chosen.plan, res, mode="delta", watermark=snapshot.watermark or chosen.since,
                            info={"since": chosen.since, "baseline_run": chosen.baseline_run,
                                  "deleted_in_source": len(chosen.deleted),
                                  "unmatched_owners": sorted(res.unmatched)},
                            custom_objects=custom_objects(ws, chosen.plan))
    outcome = DeltaOutcome(result, res, chosen.since, chosen.baseline_run, chosen.objects, chosen.deleted)
    write_figures(ws, "delta", outcome.to_dict())
    return outcome


# --- adopt: rebuild the ledger from the destination -----------------------------------------
@dataclass
class AdoptOutcome:
    """What ``adopt`` found: per object, planned records found in the destination and adopted."""

    run_id: str
    objects: list[dict]
    duplicates: list[dict]

    @property
    def adopted(self) -> int:
        return sum(o["adopted"] for o in self.objects)

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "adopted": self.adopted, "objects": self.objects,
                "duplicates": self.duplicates}


def adopt(ws: Workspace, *, accept_proposals: bool = False, client=None) -> AdoptOutcome:
    """Rebuild the ledger from the destination: every planned record found there by Source ID.

    For a workspace whose ledger was lost or emptied after a load. Each object the plan loads is
    read in full (its listing, page by page) and each planned record whose Source ID is there is
    journaled as created by this ``adopt`` run, with no content hash — so the next ``migrate``
    writes the planned values over it instead of creating it again, and ``rollback`` can remove
    it. Records carrying the same Source ID twice are listed, not touched.
    """
    _, the_plan = plan(ws, accept_proposals=accept_proposals)
    dest, order = _connected(ws, client)
    _ordered(the_plan, order)
    with _writing(ws, "adopt", dest, ws.ledger_path) as ledger:
        engine = _engine(ws, dest, ledger, progress=False)
        run_id = ledger.start_run("adopt", {"counts": the_plan.counts()})
        engine.retry.counts = {}
        objects, duplicates, listed = [], [], {}
        try:
            for op in the_plan.objects:
                if op.target not in listed:
                    try:
                        records = engine.read_all(op.target)
                    except NotFoundError:  # the object (a custom object) does not exist there
                        records = []
                    found: dict[str, list[str]] = {}
                    for rec in records:
                        sid = rec.custom.get(SOURCE_ID_FIELD)
                        if sid not in (None, "") and rec.id:
                            found.setdefault(str(sid), []).append(rec.id)
                    listed[op.target] = found
                found = listed[op.target]
                known = ledger.id_map(op.source_object, op.target)
                adopted = 0
                for pr in op.records:
                    ids = found.get(pr.source_key)
                    if not ids or pr.source_key in known:
                        continue
                    if len(ids) > 1:
                        duplicates.append({"object": op.target, "source_object": op.source_object,
                                           "source_key": pr.source_key, "ids": ids})
                    seq = ledger.intent(run_id, "create", source_object=op.source_object, source_key=pr.source_key,
                                        dest_object=op.target)
                    ledger.outcome(seq, dest_id=ids[0], reason="adopted: found in the destination by its Source ID")
                    adopted += 1
                objects.append({"source_object": op.source_object, "target": op.target, "planned": len(op.records),
                                "adopted": adopted, "already_known": sum(1 for p in op.records if p.source_key in known)})
            ledger.finish_run(run_id, "finished", None, {"objects": objects, "duplicates": duplicates})
        except BaseException as exc:
            ledger.finish_run(run_id, "interrupted", None, {"message": f"{type(exc).__name__}: {exc}"})
            raise
    outcome = AdoptOutcome(run_id, objects, duplicates)
    write_figures(ws, "adopt", outcome.to_dict())
    return outcome


# --- 07 rollback -----------------------------------------------------------------------------
def rollback(ws: Workspace, run_id: str | None = None, *, since: str | None = None, progress: bool = True,
             client=None) -> RollbackResult:
    """Reverse one run (default: the newest still in effect) so the destination is as before it.

    With ``since``, reverse that run and every later one still in effect (killed runs included),
    newest first: the destination is as it was before ``since``.

    Raises:
        ConfigError: no such run, or later runs sit on top of it.
    """
    dest = ws.connect(client)
    with _writing(ws, "rollback", dest, ws.ledger_path) as ledger:
        engine = _engine(ws, dest, ledger, progress=False)
        result = rollback_run(dest, ledger, run_id or None, progress=progress, engine=engine, since=since)
    write_figures(ws, "rollback", result.to_dict())
    return result


# --- 05 reconcile ----------------------------------------------------------------------------
def reconcile(ws: Workspace, client=None) -> Reconciliation:
    """Account for every source record and check the destination read back against the ledger.

    Counts and field totals source vs destination, field population, relationship integrity.
    """
    snapshot = ws.read_source()
    the_plan = build_plan(snapshot, MappingSpec.load(ws.mapping_path), inline_dir=ws.inline_images_dir)
    dest = ws.connect(client)
    with Ledger(ws.ledger_path) as ledger:
        rec = reconcile_run(snapshot, the_plan, ledger, dest, read_all=_engine(ws, dest, ledger, progress=False).read_all)
    write_figures(ws, "reconcile", rec.to_dict())
    return rec
