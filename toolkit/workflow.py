"""The steps of a migration, one call each: what the notebooks and the CLI run.

Each step reads the workspace, does its work through the toolkit's modules, writes its figures
to ``WS/reports/<step>.json`` and returns them, so a notebook is a list of these calls and a
display of what they return.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import _paths
from .audit import AuditReport, run_audit
from .engine import Engine, RunResult
from .errors import ConfigError, MappingError
from .ledger import Ledger
from .mapping import MappingSpec, Plan, build_plan
from .owner_resolution import OwnerResolution, resolve_owners
from .workspace import Workspace, write_private

__all__ = ["open_workspace", "audit", "prepare_mapping", "migrate", "reconcile", "write_figures",
           "MigrationOutcome", "Reconciliation"]


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
    report = run_audit(ws.read_source(), expectations_dir or _paths.EXPECTATIONS)
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
        path = template_path(ws.source, ws.destination)
        if not path.is_file():
            raise ConfigError(f"no default mapping for {ws.source} -> {ws.destination} (looked for {path})")
        spec = MappingSpec.load(path)
    if accept_proposals:
        spec.accept_proposals()
    spec.save(ws.mapping_path)
    write_figures(ws, "map", {"mapping": str(ws.mapping_path), "unconfirmed": spec.unconfirmed(),
                                  "objects": [o.to_dict() for o in spec.objects]})
    return spec


def mapping_table(spec: MappingSpec) -> pd.DataFrame:
    """Every field of the mapping as one table row, for review."""
    rows = [{"object": f"{o.source} -> {o.target}", "source": f.source if isinstance(f.source, str) else
             (" | ".join(f.source) if f.source else f.template or repr(f.value)), "target": f.target,
             "type": f.type, "transform": f.transform, "status": f.status, "confidence": f.confidence, "reason": f.reason}
            for o in spec.objects for f in o.fields]
    return pd.DataFrame(rows)


# --- 04 migrate ------------------------------------------------------------------------------
@dataclass
class MigrationOutcome:
    result: RunResult
    owners: OwnerResolution
    plan_counts: dict[str, int]
    custom_fields: list[str]

    def to_dict(self) -> dict:
        return {"run_id": self.result.run_id, "mode": self.result.mode, "status": self.result.status,
                "message": self.result.message, "seconds": round(self.result.seconds, 1), "counts": self.result.counts,
                "plan": self.plan_counts, "custom_fields": self.custom_fields, "owners": self.owners.rows()}


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
    return snapshot, build_plan(snapshot, spec)


def migrate(ws: Workspace, *, accept_proposals: bool = False, progress: bool = True, client=None) -> MigrationOutcome:
    """Provision the custom fields the mapping needs, then load every record through the engine."""
    snapshot, the_plan = plan(ws, accept_proposals=accept_proposals)
    dest = ws.connect(client)
    if dest.objects:
        rank = {name: i for i, name in enumerate(dest.objects)}
        the_plan.objects.sort(key=lambda p: rank.get(p.target, len(rank)))
    owners = resolve_owners(the_plan.owner_emails(), dest.list_users(), ws.fallback_owner)
    write_figures(ws, "owners", {"owners": owners.rows(), "fallback": ws.fallback_owner})
    with Ledger(ws.ledger_path) as ledger:
        result = Engine(dest, ledger, progress=progress).run(the_plan, owners, mode="full", watermark=snapshot.watermark)
    outcome = MigrationOutcome(result, owners, the_plan.counts(), [f"{c.object}.{c.key}" for c in the_plan.custom_fields])
    write_figures(ws, "migrate", outcome.to_dict())
    return outcome


# --- 05 reconcile ----------------------------------------------------------------------------
@dataclass
class Reconciliation:
    fates: pd.DataFrame
    objects: pd.DataFrame
    integrity: list[dict]

    def summary(self) -> dict:
        counts = self.fates["fate"].value_counts().to_dict()
        unaccounted = int((self.fates["fate"] == "unaccounted").sum())
        return {"source_records": int(len(self.fates)),
                "created": int(counts.get("created", 0)), "updated": int(counts.get("updated", 0)),
                "skipped": int(counts.get("skipped", 0)), "errors": int(counts.get("error", 0)),
                "unaccounted": unaccounted, "broken_links": len(self.integrity), "ok": unaccounted == 0 and not self.integrity}

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "objects": self.objects.to_dict("records"), "integrity": self.integrity,
                "fates": self.fates.to_dict("records")}


def reconcile(ws: Workspace, client=None) -> Reconciliation:
    """Account for every source record and check the destination read back against the ledger."""
    snapshot = ws.read_source()
    dest = ws.connect(client)
    with Ledger(ws.ledger_path) as ledger:
        fates = ledger.fates()
        mapped = {obj: ledger.id_map(obj) for obj in snapshot.tables}
    present: dict[str, dict[str, object]] = {}
    for obj in dest.objects:
        present[obj] = {r.id: r for r in dest.iter_records(obj)}
    rows, per_object = [], []
    for obj, df in snapshot.tables.items():
        key = snapshot.schema[obj].key
        keys = df[key].astype("string").fillna("").tolist()
        tally: dict[str, int] = {}
        for k in keys:
            fate, reason = fates.get((obj, k), ("unaccounted", "no outcome recorded in the ledger"))
            if fate in {"created", "updated"}:
                dest_id = mapped[obj].get(k, (None,))[0]
                if not any(dest_id in recs for recs in present.values()):
                    fate, reason = "unaccounted", f"ledger says {fate} as {dest_id}, but the destination has no such record"
            rows.append({"object": obj, "source_key": k, "fate": fate, "reason": reason})
            tally[fate] = tally.get(fate, 0) + 1
        per_object.append({"object": obj, "source": len(keys), **tally})
    integrity = []
    contacts = present.get("contact", {})
    for rid, rec in present.get("opportunity", {}).items():
        cid = rec.links.get("contactId")
        if cid and cid not in contacts:
            integrity.append({"object": "opportunity", "id": rid, "problem": f"contact {cid} does not exist"})
    dest_counts = pd.DataFrame([{"object": o, "destination": len(r)} for o, r in present.items()])
    rec = Reconciliation(pd.DataFrame(rows, columns=["object", "source_key", "fate", "reason"]),
                         pd.DataFrame(per_object).fillna(0), integrity)
    figures = rec.to_dict() | {"destination_counts": dest_counts.to_dict("records")}
    write_figures(ws, "reconcile", figures)
    return rec
