"""The steps that write a document and nothing else, one call each, as the notebooks and the CLI
run them (the reports package only presents what they return).

None of them writes to the destination; each writes its figures to ``WS/reports/<step>.json``
and returns its result for the notebook's views:

* :func:`estimate` — load time and complexity, before anything else (no network call);
* :func:`signoff` — the mapping sign-off sheet;
* :func:`owner_report` — owner resolution, before the load (reads the destination's users);
* :func:`migration_summary` — what the runs did (ledger, mapping and source only);
* :func:`rebuild_guide` — the source's automations laid out for the destination.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..load.ledger import Ledger
from ..mapping import MappingSpec, build_plan
from ..reports.load_estimate import Estimate, estimate_plan
from ..reports.migration_summary import RunSummary, summarize_runs
from ..reports.quotas import quota_for
from ..reports.rebuild import RebuildGuide, build_guide
from ..reports.signoff import SignoffSheet, signoff_sheet
from ..workspace import write_private
from ._setup import owners, template_path, write_figures

__all__ = ["estimate", "signoff", "owner_report", "migration_summary", "rebuild_guide"]


def _mapping(ws) -> tuple[MappingSpec | None, str]:
    """The workspace's mapping, else the pair's template, else none; and which it was."""
    if ws.mapping_path.is_file():
        return MappingSpec.load(ws.mapping_path), "the workspace's mapping"
    path = template_path(ws.source, ws.destination)
    if path.is_file():
        return MappingSpec.load(path), f"the default mapping {path.name} (the workspace has none yet)"
    return None, "no mapping"


def estimate(ws, **options) -> Estimate:
    """Estimate the load: calls, minimum load time, calendar days at the daily cap, complexity.

    Args:
        options: destination options to assume instead of the workspace's (``plan``, ``seats``).
    """
    snapshot = ws.read_source()
    spec, which = _mapping(ws)
    plan = build_plan(snapshot, spec, inline_dir=ws.inline_images_dir) if spec is not None else None
    quota = quota_for(ws.destination, {**ws.destination_config.options, **options})
    est = estimate_plan(plan, snapshot, spec, quota, assumptions=[f"records routed by {which}"])
    write_figures(ws, "estimate", est.to_dict())
    return est


def signoff(ws) -> SignoffSheet:
    """The sign-off sheet of the workspace's mapping.

    Raises:
        ConfigError: the workspace has no mapping yet (run the mapping step first).
    """
    if not ws.mapping_path.is_file():
        raise ConfigError(f"{ws.root} has no mapping.yaml yet: run `crm-migrate map {ws.root}` first")
    sheet = signoff_sheet(MappingSpec.load(ws.mapping_path))
    write_figures(ws, "signoff", sheet.to_dict())
    return sheet


def owner_report(ws, client=None):
    """Owner resolution before the load: every source owner matched by email to a destination user."""
    return owners(ws, client=client)  # writes owners.json


def migration_summary(ws) -> RunSummary:
    """What the runs did, from the workspace alone (no destination call)."""
    snapshot = ws.read_source()
    spec = MappingSpec.load(ws.mapping_path) if ws.mapping_path.is_file() else None
    if not ws.ledger_path.is_file():
        raise ConfigError(f"{ws.root} has no ledger yet: nothing has been migrated (run `crm-migrate migrate`)")
    with Ledger(ws.ledger_path) as ledger:
        summary = summarize_runs(ledger, snapshot, spec, ws.reports_dir / "owners.json")
    write_figures(ws, "summary", summary.to_dict())
    return summary


def rebuild_guide(ws) -> RebuildGuide:
    """The source's workflows, reminders, recall rules and templates, for the destination.

    Writes ``rebuild_guide.json`` (every destination) and ``rebuild_guide.<destination>.md``
    (the plain-English guide per destination) beside the report.
    """
    snapshot = ws.read_source()
    spec, _ = _mapping(ws)
    custom = {f.custom_key: (f.name or f.custom_key) for o in (spec.objects if spec else [])
              for f in o.fields if f.active and f.custom_key}
    guide = build_guide(list(snapshot.meta.get("automations") or []), ws.source, ws.destination, custom)
    write_figures(ws, "rebuild_guide", guide.to_dict())
    for dest in guide.items:
        write_private(ws.reports_dir / f"rebuild_guide.{dest}.md", guide.markdown(dest))
    return guide
