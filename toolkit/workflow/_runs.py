"""The steps of a run, one call each: audit, mapping, sample, migrate, delta, adopt, rollback and
reconcile. Each reads the source and builds the plan once, passes them on, and writes its figures
to ``WS/reports/<step>.json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import _paths
from ..audit import AuditReport, preload_great_expectations, run_audit
from ..errors import NotFoundError, QuotaExhaustedError
from ..load.delta import propagate_deletions as propagate_deletions_run
from ..load.delta import select_changes
from ..load.engine import RunResult
from ..load.fates import fate_counts, fates_per_object, source_fates
from ..load.ledger import Ledger
from ..load.owner_resolution import OwnerResolution
from ..load.rollback import RollbackResult
from ..load.rollback import rollback as rollback_run
from ..load.sample import select_sample
from ..mapping import MappingSpec, build_plan, mapping_table
from ..shapes import SOURCE_ID_FIELD
from ..verify.field_diff import VERDICTS, diff_sample
from ..verify.reconciliation import Reconciliation, reconcile_run
from ..workspace import Workspace
from ._setup import (_connected, _engine, _ordered, _refuse_unknown_records, _writing, custom_objects, owners, plan,
                     template_path, write_figures)

__all__ = ["audit", "prepare_mapping", "propose", "mapping_table", "sample", "migrate", "delta", "adopt", "rollback",
           "reconcile", "SampleOutcome", "MigrationOutcome", "DeltaOutcome", "AdoptOutcome"]


# --- 01 audit --------------------------------------------------------------------------------
def audit(ws: Workspace, expectations_dir: str | Path | None = None, *, data_docs: bool = False,
          checkpoint: bool = False) -> AuditReport:
    """Read the source and audit it against its Great Expectations suites.

    The verdicts are saved as GX validation results in the workspace's GX project (``WS/gx``).

    Args:
        data_docs: also render that project as GX Data Docs (``report.gx["data_docs"]``).
        checkpoint: also run each object's GX checkpoint (plain GX on every row: slower, the same
            verdicts) and keep GX's own results beside the audit's (``report.gx["checkpoints"]``).
    """
    from ..audit import build_data_docs, run_checkpoints, save_results

    folder = expectations_dir or _paths.EXPECTATIONS
    preload_great_expectations()  # GX's imports use the cores the read leaves idle
    # the audit reads leniently: schema drift and unreadable files are reported, not raised
    snapshot = ws.open_source().read_for_audit(ws.export)
    report = run_audit(snapshot, folder)
    # paths in the figures are the workspace's own, relative to it
    report.gx["results"] = [p.relative_to(ws.root).as_posix() for p in save_results(ws.root, report)]
    if checkpoint:
        report.gx["checkpoints"] = run_checkpoints(ws.root, snapshot, folder)
    if data_docs:
        report.gx["data_docs"] = build_data_docs(ws.root).relative_to(ws.root).as_posix()
    write_figures(ws, "audit", report.to_dict())
    return report


# --- 02 mapping ------------------------------------------------------------------------------
def prepare_mapping(ws: Workspace, *, accept_proposals: bool = False, overwrite: bool = False) -> MappingSpec:
    """Give the workspace its mapping: the confirmed one if it exists, else the pair's template.

    Args:
        accept_proposals: confirm every proposed field (unattended runs; the demo).
        overwrite: start again from the template even if a mapping exists.
    """
    stages: list[dict] = []
    stage_note = "the mapping's stage names were kept"
    if ws.mapping_path.is_file() and not overwrite:
        spec = MappingSpec.load(ws.mapping_path)
    else:
        from ..mapping import propose_mapping, template_fits

        path = template_path(ws.source, ws.destination)
        spec = MappingSpec.load(path) if path.is_file() else None
        snapshot = ws.read_source()
        if spec is None or not template_fits(snapshot, spec):
            # no template for this pair, or one made for other files (a generic export): the
            # proposer writes the map, keeping whatever of the template fits
            spec = propose_mapping(snapshot, ws.destination, source=ws.source, base=spec)
        stages, stage_note = _stages_from_destination(ws, spec, snapshot)
    if accept_proposals:
        spec.accept_proposals()
    spec.save(ws.mapping_path)
    write_figures(ws, "map", {"mapping": str(ws.mapping_path), "unconfirmed": spec.unconfirmed(),
                              "objects": [o.to_dict() for o in spec.objects], "stages": stages,
                              "stages_read": stage_note})
    return spec


def _stages_from_destination(ws: Workspace, spec: MappingSpec, snapshot) -> tuple[list[dict], str]:
    """Match every stage value of the export to the destination account's own stages (read now).

    Without a token (or an answer) the mapping keeps its stage names, and says why; the load then
    places a stage the account lacks in the review stage, or refuses a missing pipeline by name.
    """
    if not any(om.pipeline for om in spec.objects):
        return [], "no route has a pipeline"
    from ..errors import DestinationError, MigrationError
    from ..load.retries import Retrier
    from ..mapping import align_stages

    try:
        dest = ws.connect()
        pipelines = Retrier().call(dest.list_pipelines)
    except (MigrationError, DestinationError) as exc:
        return [], f"the destination's pipelines could not be read ({exc}): the mapping's stage names were kept"
    rows = align_stages(spec, snapshot, pipelines, can_create=dest.has("create_pipelines"))
    unmatched = sum(1 for r in rows if r["how"].startswith("no stage"))
    return rows, (f"read from the destination: {len(rows)} stage values matched to its pipelines"
                  + (f", {unmatched} placed in the review stage" if unmatched else ""))


def propose(ws: Workspace, *, overwrite: bool = False) -> MappingSpec:
    """Propose the workspace's mapping and write it to ``WS/mapping.yaml``, every new field ``proposed``.

    Starts from the workspace's mapping if it has one (only columns it does not mention are
    proposed, so nothing confirmed is lost), else from the pair's template, else from nothing.

    Args:
        overwrite: ignore an existing mapping and start again.
    """
    from ..mapping import propose_mapping

    snapshot = ws.read_source()
    base = None
    if ws.mapping_path.is_file() and not overwrite:
        base = MappingSpec.load(ws.mapping_path)
    elif template_path(ws.source, ws.destination).is_file():
        base = MappingSpec.load(template_path(ws.source, ws.destination))
    spec = propose_mapping(snapshot, ws.destination, source=ws.source, base=base)
    # stages and pipelines proposed from the account's own (read now), where it can be reached
    stages, stage_note = _stages_from_destination(ws, spec, snapshot)
    spec.save(ws.mapping_path)
    write_figures(ws, "propose", {"mapping": str(ws.mapping_path), "unconfirmed": spec.unconfirmed(),
                                  "stages": stages, "stages_read": stage_note,
                                  "objects": [o.to_dict() for o in spec.objects],
                                  "not_migrated": spec.extra.get("not_migrated", [])})
    return spec


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
        diff = diff_sample(picked.plan, the_plan.mapping, snapshot, ledger, dest, read=engine.call,
                           read_back=engine.read_back)
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
    #: every source record's fate after the run (:func:`~toolkit.load.fates.fate_counts`): the
    #: same figures the summary and reconcile reports show; ``counts`` are this run's CRM writes
    source_records: dict[str, int] = field(default_factory=dict)
    #: the same, per source object (:func:`~toolkit.load.fates.fates_per_object`)
    per_object: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the source records in error after the run: object, source_key, reason
    errors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["object", "source_key", "reason"]))

    def to_dict(self) -> dict:
        r = self.result
        return {"run_id": r.run_id, "mode": r.mode, "status": r.status, "message": r.message,
                "resume_at": r.resume_at, "seconds": round(r.seconds, 1), "source_records": self.source_records,
                "per_object": self.per_object.to_dict("records"),
                "counts": r.counts, "set_aside": r.set_aside, "retries": r.retries,
                "files_as_links": r.files_as_links, "plan": self.plan_counts, "custom_fields": self.custom_fields,
                "owners": self.owners.rows()}


def migrate(ws: Workspace, *, accept_proposals: bool = False, progress: bool = True, client=None,
            unattended: bool = False) -> MigrationOutcome:
    """Provision the custom fields the mapping needs, then load every record through the engine.

    Safe to run again at any time: it resumes an interrupted or paused run, and rewrites only
    records whose content (or resolved owner, links or stage) changed.

    Args:
        unattended: a scheduler runs it: a run paused at the daily quota raises
            :class:`~toolkit.errors.QuotaExhaustedError` (after its figures are written) so that
            the scheduler's retry resumes it, instead of ending as if done.
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
        fates = source_fates(snapshot, ledger)
    errors = fates[fates["fate"] == "error"][["object", "source_key", "reason"]].reset_index(drop=True)
    outcome = MigrationOutcome(result, res, the_plan.counts(), [f"{c.object}.{c.key}" for c in the_plan.custom_fields],
                               fate_counts(fates), fates_per_object(fates, snapshot.tables), errors)
    write_figures(ws, "migrate", outcome.to_dict())
    if unattended and result.status == "paused":
        raise QuotaExhaustedError(f"stopped at the daily quota after {sum(result.counts.values()):,} writes: "
                                  f"resume after {result.resume_at or 'the reset'}", resume_at=result.resume_at)
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
        """Migrated records no longer in the source, and what was done with each."""
        return pd.DataFrame(self.deleted, columns=["object", "source_key", "dest_object", "dest_id", "action"])


def delta(ws: Workspace, *, accept_proposals: bool = False, progress: bool = True, client=None,
          propagate_deletions: bool = False) -> DeltaOutcome:
    """Load only what changed in the source since the last full or delta run; report deletions.

    Args:
        propagate_deletions: also delete from the destination the migrated records the source no
            longer has (journaled in the delta run: rolling it back creates them again). By
            default they are reported and kept.

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
                            custom_objects=custom_objects(ws, chosen.plan), whole=the_plan)
        if propagate_deletions and result.status == "finished" and chosen.deleted:
            for fate, n in propagate_deletions_run(engine, ledger, result.run_id, chosen.deleted).items():
                result.add(fate, n)
            ledger.finish_run(result.run_id, result.status, snapshot.watermark or chosen.since,
                              {**(ledger.run(result.run_id)["info"] or {}), "counts": result.counts})
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
    it. Records carrying the same Source ID twice are listed, not touched. Objects whose records
    cannot carry a Source ID (``Destination.without_source_id``) are left to the next ``migrate``,
    whose writes of them are idempotent by content.
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
                if op.target in dest.without_source_id:
                    objects.append({"source_object": op.source_object, "target": op.target, "planned": len(op.records),
                                    "adopted": 0, "already_known": 0,
                                    "note": "no Source ID on these records: the next migrate writes them again, "
                                            "which adds nothing already there"})
                    continue
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
        rec = reconcile_run(snapshot, the_plan, ledger, dest, read_back=_engine(ws, dest, ledger, progress=True).read_back)
    write_figures(ws, "reconcile", rec.to_dict())
    return rec
