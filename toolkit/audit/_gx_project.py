"""The workspace's own Great Expectations project, ``WS/gx``: saved results, Data Docs, checkpoints.

GX's tools work on it as on any GX project (``gx.get_context(project_root_dir=WS)``):

* every audit saves its verdicts there as GX validation results, one per object (suite
  ``<source>.<object>``, run name ``audit``), so that the validation history is kept and GX's
  own tools can read it;
* :func:`build_data_docs` renders them (and the suites) as GX Data Docs, on request;
* :func:`register_checkpoints` writes each object's suite, with the export's role names made
  columns, as a GX suite, validation definition and checkpoint of the same name;
  :func:`run_checkpoints` runs them on the export's rows with plain GX (every row in one batch:
  slower than the audit's own path, same verdicts), saving GX's results beside the audit's.

The project holds the same patient values as the audit report (a sample of failing values per
expectation): it lives inside the owner-only workspace and is not part of any ``--redact`` copy.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
from pathlib import Path

from .._slow_imports import import_great_expectations
from ..private_files import private_dir
from ..shapes import Snapshot

__all__ = ["GX_FOLDER", "gx_context", "save_results", "build_data_docs", "register_checkpoints",
           "run_checkpoints", "suite_name"]

#: the project's folder inside the workspace (GX's own layout: great_expectations.yml, expectations/,
#: checkpoints/, uncommitted/validations/ and uncommitted/data_docs/)
GX_FOLDER = "gx"
#: failing values GX keeps per expectation (its own ``partial_unexpected_list`` length)
_PARTIAL = 20
_DATASOURCE = "export"


def suite_name(source: str, obj: str) -> str:
    """The GX name of one object's suite, validation definition and checkpoint."""
    return f"{source}.{obj}"


def gx_context(root: str | Path):
    """The file-backed GX context of the workspace at ``root`` (created on first use)."""
    gx = import_great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    private_dir(Path(root, GX_FOLDER))
    ctx = gx.get_context(mode="file", project_root_dir=str(root))
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


def _owner_only(root: str | Path) -> None:
    """GX writes with the process's umask; like everything in a workspace, its files concern
    patients, so they are made owner-only after each write."""
    for here, dirs, files in os.walk(Path(root, GX_FOLDER)):
        for d in dirs:
            os.chmod(os.path.join(here, d), 0o700)
        for f in files:
            os.chmod(os.path.join(here, f), 0o600)


def _suite(name: str, expectations: list[dict]):
    gx = import_great_expectations()
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    return gx.ExpectationSuite(name=name, expectations=[
        ExpectationConfiguration(type=e["type"], kwargs=e.get("kwargs") or {}, meta=e.get("meta") or {})
        for e in expectations])


def save_results(root: str | Path, report, *, run_time: _dt.datetime | None = None) -> list[Path]:
    """Save an audit's verdicts in the workspace's GX project as GX validation results.

    Args:
        root: the workspace folder.
        report: the :class:`~toolkit.audit.AuditReport`.
        run_time: when the audit ran (default now, UTC).

    Returns:
        The result files written, one per object with a suite.
    """
    from great_expectations.core.expectation_validation_result import (ExpectationSuiteValidationResult,
                                                                       ExpectationValidationResult)
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (ExpectationSuiteIdentifier,
                                                                            ValidationResultIdentifier)
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if not report.expectations:
        return []
    ctx = gx_context(root)
    when = run_time or _dt.datetime.now(_dt.timezone.utc)
    run = RunIdentifier(run_name="audit", run_time=when)
    written = []
    for obj, results in report.expectations.items():
        name = suite_name(report.source, obj)
        specs = [{"type": r["expectation"], "kwargs": r.get("kwargs") or {}, "meta": {"why": r.get("why", "")}}
                 for r in results]
        ctx.suites.add_or_update(_suite(name, specs))
        items = []
        for r, spec in zip(results, specs):
            failures = r.get("failures") or []
            n, bad = int(r.get("element_count") or 0), int(r.get("unexpected_count") or 0)
            result = {"element_count": n, "unexpected_count": bad,
                      "unexpected_percent": 100.0 * bad / n if n else 0.0,
                      "partial_unexpected_list": [f.get("value") for f in failures[:_PARTIAL]]}
            result.update(r.get("details") or {})
            items.append(ExpectationValidationResult(success=bool(r["success"]), result=result,
                                                     expectation_config=ExpectationConfiguration(**spec)))
        ok = sum(1 for i in items if i.success)
        file = (results[0].get("file") if results else None) or obj
        res = ExpectationSuiteValidationResult(
            success=ok == len(items), suite_name=name, results=items,
            statistics={"evaluated_expectations": len(items), "successful_expectations": ok,
                        "unsuccessful_expectations": len(items) - ok,
                        "success_percent": 100.0 * ok / len(items) if items else None},
            meta={"run_id": run, "validation_time": when, "batch_spec": {"file": file},
                  "active_batch_definition": {"datasource_name": _DATASOURCE, "data_connector_name": "fluent",
                                              "data_asset_name": obj, "batch_identifiers": {}}})
        key = ValidationResultIdentifier(expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
                                         run_id=run, batch_identifier=f"{_DATASOURCE}-{obj}")
        ctx.validation_results_store.set(key, res)
        written.append(_result_file(root, key))
    _owner_only(root)
    return written


def _result_file(root: str | Path, key) -> Path:
    parts = key.to_tuple()  # (suite name parts…, run name, run time, batch id)
    suite_parts = key.expectation_suite_identifier.name.split(".")
    run_name, run_time, batch = parts[-3], parts[-2], parts[-1]
    return Path(root, GX_FOLDER, "uncommitted", "validations", *suite_parts, run_name or "__none__", run_time,
                f"{batch}.json")


def build_data_docs(root: str | Path) -> Path:
    """Render the workspace's GX project as Data Docs; returns the site's ``index.html``."""
    ctx = gx_context(root)
    ctx.build_data_docs()
    _owner_only(root)
    return Path(root, GX_FOLDER, "uncommitted", "data_docs", "local_site", "index.html")


def _object_suites(snapshot: Snapshot, expectations_dir: str | Path) -> dict[str, dict]:
    """Each audited object's suite as the audit runs it: role suites made concrete for the file."""
    from ._expectations import resolve_roles

    folder = Path(expectations_dir) / snapshot.source
    chosen = snapshot.meta.get("suites") or {}
    roles = snapshot.meta.get("roles") or {}
    out = {}
    for obj in snapshot.tables:
        path = folder / f"{chosen.get(obj, obj)}.json"
        if not path.is_file():
            continue
        spec = json.loads(path.read_text(encoding="utf-8"))
        if roles.get(obj) is not None:  # as the audit does: a role suite told its file's columns
            spec = resolve_roles(spec, roles[obj])
        if spec["expectations"]:
            out[obj] = spec
    return out


def register_checkpoints(root: str | Path, snapshot: Snapshot, expectations_dir: str | Path) -> dict[str, object]:
    """Write each object's suite, a dataframe asset, validation definition and checkpoint into the
    workspace's GX project; returns object -> GX checkpoint.

    A checkpoint takes the object's rows at run time, as GX's dataframe assets do:
    ``checkpoint.run(batch_parameters={"dataframe": rows})``.
    """
    gx = import_great_expectations()

    ctx = gx_context(root)
    source = ctx.data_sources.add_or_update_pandas(name=_DATASOURCE)
    out = {}
    for obj, spec in _object_suites(snapshot, expectations_dir).items():
        name = suite_name(snapshot.source, obj)
        suite = ctx.suites.add_or_update(_suite(name, spec["expectations"]))
        try:
            asset = source.get_asset(obj)
        except LookupError:
            asset = source.add_dataframe_asset(obj)
        try:
            batch = asset.get_batch_definition("all rows")
        except (KeyError, LookupError, ValueError):
            batch = asset.add_batch_definition_whole_dataframe("all rows")
        definition = ctx.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=batch,
                                                                                       suite=suite))
        out[obj] = ctx.checkpoints.add_or_update(gx.Checkpoint(
            name=name, validation_definitions=[definition], result_format={"result_format": "SUMMARY"}))
    return out


def run_checkpoints(root: str | Path, snapshot: Snapshot, expectations_dir: str | Path) -> dict[str, dict]:
    """Run every object's GX checkpoint on its rows (plain GX, no shortcuts).

    Returns:
        object -> ``{"checkpoint", "success", "statistics", "results": [{expectation, column,
        success, unexpected_count, element_count}]}``; GX saves its own validation results in the
        project as it runs.
    """
    out = {}
    for obj, checkpoint in register_checkpoints(root, snapshot, expectations_dir).items():
        run = checkpoint.run(batch_parameters={"dataframe": snapshot.tables[obj].reset_index(drop=True)},
                             run_id=None)
        for vr in run.run_results.values():
            results = [{"expectation": r.expectation_config.type,
                        "column": (r.expectation_config.kwargs or {}).get("column"),
                        "success": bool(r.success),
                        "unexpected_count": int((r.result or {}).get("unexpected_count") or 0),
                        "element_count": int((r.result or {}).get("element_count") or 0)}
                       for r in vr.results]
            out[obj] = {"checkpoint": checkpoint.name, "success": bool(vr.success),
                        "statistics": dict(vr.statistics), "results": results}
    _owner_only(root)
    return out
