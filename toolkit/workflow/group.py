"""A dental group's practices, run together: the manifest, its accounts, the sample gate, the roll-up.

A group (a DSO) migrates many practices, each into its own CRM account with its own quota. The
manifest (``group.yaml``) has one line per practice::

    group: Bright Smiles Dental Group
    workspaces: workspaces            # one workspace per practice, made here (relative to the manifest)
    practices:
      - {name: north, source: dent-o-soft, export: exports/north, destination: highlevel,
         token_env: HL_TOKEN_NORTH, options: {location_id: loc-north}, fallback_owner: ops@brightsmiles.example}
      - {name: south, source: dental-exec, export: exports/south, destination: pipedrive,
         base_url: https://brightsmiles.pipedrive.com/api, token_env: PD_TOKEN_SOUTH}

This module is what the scheduler's tasks call (``airflow/dags/dental_group.py`` runs them on
Apache Airflow; ``crm-migrate group`` is the same from a shell): :func:`prepare` makes the
workspaces, :func:`pools` names one pool per destination account (one writer each; different
accounts load side by side), :func:`sample_gate` holds a practice's load until its sample is
clean or signed off, and :func:`rollup` gathers every practice's figures into one report.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config_schema import Problem, did_you_mean, read_checked
from ..destinations import registry as destinations
from ..errors import ConfigError, MigrationError, SampleGateClosed
from ..private_files import private_dir, write_private
from ..sources import registry as sources
from ..workspace import Workspace, default_token_env, init_workspace

__all__ = ["GroupManifest", "Practice", "load_manifest", "prepare", "pools", "sample_gate", "signoff_sample",
           "rollup", "render_reports", "MANIFEST_SCHEMA"]

_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"
_ACCOUNT = {"type": "object", "additionalProperties": False, "required": ["base_url", "token_env"], "properties": {
    "base_url": {"type": "string"}, "token_env": {"type": "string", "pattern": _ENV},
    "options": {"type": ["object", "null"]}}}

MANIFEST_SCHEMA: dict = {
    "type": "object", "additionalProperties": False, "required": ["practices"],
    "properties": {
        "group": {"type": "string"},
        "workspaces": {"type": "string"},
        "accept_proposals": {"type": "boolean"},
        "practices": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["name", "source", "export", "destination"],
            "properties": {
                "name": {"type": "string", "pattern": _NAME}, "practice_name": {"type": "string"},
                "source": {"type": "string"}, "export": {"type": "string"},
                "destination": {"type": "string"}, "base_url": {"type": "string"},
                "token_env": {"type": "string", "pattern": _ENV}, "options": {"type": ["object", "null"]},
                "account": {"type": "string"}, "fallback_owner": {"type": "string"},
                "source_options": {"type": ["object", "null"]}, "staging": _ACCOUNT,
            }}},
    },
}


@dataclass(frozen=True)
class Practice:
    """One practice of the group, as its manifest line says.

    Attributes:
        name: the practice's short name (its workspace folder, its tasks' ids).
        workspace: its workspace folder.
        account: the destination account it loads into (practices sharing one share its pool).
        line: the manifest's fields for it, as written.
    """

    name: str
    workspace: Path
    account: str
    line: dict = field(hash=False, compare=False)

    @property
    def pool(self) -> str:
        """The scheduler pool of its destination account: one slot, one writer per account."""
        return _pool(self.account)

    @property
    def staging_pool(self) -> str | None:
        """The pool of its staging account (where ``sample`` writes), if it has one."""
        staging = self.line.get("staging")
        if not staging:
            return None
        return _pool(_account({**staging, "destination": self.line["destination"], "name": self.name + "-staging"}))


def _pool(account: str) -> str:
    return "crm-" + re.sub(r"[^a-z0-9_-]+", "-", account.lower()).strip("-")[:90]


@dataclass
class GroupManifest:
    """A checked manifest: the group's name, where the workspaces go, and its practices."""

    path: Path
    group: str
    workspaces: Path
    practices: list[Practice]
    accept_proposals: bool = False

    def practice(self, name: str) -> Practice:
        for p in self.practices:
            if p.name == name:
                return p
        raise ConfigError(f"{self.path}: no practice named {name!r}{did_you_mean(name, [p.name for p in self.practices])}")


def _account(line: dict) -> str:
    """Who the destination account is: the manifest's ``account``, else what identifies it (a
    HighLevel location, else the API host), else the practice's own name."""
    if line.get("account"):
        return f"{line['destination']}-{line['account']}"
    options = line.get("options") or {}
    if options.get("location_id"):
        return f"{line['destination']}-{options['location_id']}"
    if line.get("base_url"):
        parts = urlsplit(line["base_url"])
        return f"{line['destination']}-{parts.hostname or ''}-{parts.port or ''}-{parts.path.strip('/')}"
    return f"{line['destination']}-{line['name']}"


def load_manifest(path: str | Path) -> GroupManifest:
    """Read and check a group manifest (file, line and a "did you mean" for every problem).

    Raises:
        ConfigError: unknown keys or names, a token given instead of a variable's name, two
            practices of one name, or an export folder that does not exist.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"group manifest {path} does not exist")

    def more(data: Any, lines: dict) -> list[Problem]:
        found, seen = [], set()
        for i, line in enumerate(data["practices"]):
            at = lines.get(("practices", i))
            for key, registry in (("source", sources), ("destination", destinations)):
                if line[key] not in registry.names():
                    found.append(Problem(("practices", i, key), at, f"unknown {key} {line[key]!r}"
                                         f"{did_you_mean(line[key], registry.names())}"))
            if line["name"] in seen:
                found.append(Problem(("practices", i, "name"), at, f"a second practice named {line['name']!r}"))
            seen.add(line["name"])
            export = line["export"]
            if "://" not in export and not (path.parent / export).is_dir():
                found.append(Problem(("practices", i, "export"), at, f"export folder {export} does not exist"))
        return found

    data = read_checked(path, MANIFEST_SCHEMA, ConfigError, more)
    root = (path.parent / data.get("workspaces", "workspaces")).resolve()
    practices = [Practice(line["name"], root / line["name"], _account(line), dict(line)) for line in data["practices"]]
    return GroupManifest(path, str(data.get("group") or path.parent.name), root, practices,
                         bool(data.get("accept_proposals", False)))


def prepare(manifest: GroupManifest, name: str | None = None) -> list[Workspace]:
    """Make (or bring up to date) the workspace of each practice, or of the one named.

    A workspace that exists keeps its mapping, ledger and reports; its configuration follows the
    manifest's line.
    """
    private_dir(manifest.workspaces)
    private_dir(manifest.workspaces / "runs")  # the group report's executed notebook
    made = []
    for p in manifest.practices if name is None else [manifest.practice(name)]:
        line = p.line
        export = line["export"] if "://" in line["export"] else str((manifest.path.parent / line["export"]).resolve())
        ws = init_workspace(p.workspace, source=line["source"], export=export, destination=line["destination"],
                            base_url=line.get("base_url"),
                            token_env=line.get("token_env") or default_token_env(line["destination"]),
                            options=line.get("options") or None, fallback_owner=line.get("fallback_owner"),
                            source_options=line.get("source_options") or None,
                            practice_name=line.get("practice_name") or line["name"])
        if line.get("staging"):
            ws.extra["staging"] = dict(line["staging"])
            ws.save()
        private_dir(ws.runs_dir)  # a scheduler's papermill writes the executed notebooks there
        made.append(ws)
    return made


def pools(manifest: GroupManifest) -> dict[str, dict]:
    """One scheduler pool per destination account, in the shape ``airflow pools import`` reads."""
    out: dict[str, dict] = {}
    for p in manifest.practices:
        for pool, what in ((p.pool, p.name), (p.staging_pool, f"{p.name} (sample)")):
            if pool is None:
                continue
            entry = out.setdefault(pool, {"slots": 1, "include_deferred": False,
                                          "description": "one writer at a time into this account: "})
            entry["description"] += ("" if entry["description"].endswith(": ") else ", ") + what
    return out


_SIGNOFF = "sample_signoff.json"


def signoff_sample(ws: Workspace, by: str) -> dict:
    """Record that ``by`` has read the sample's diff and accepts it, differences and all."""
    figures = _figures(ws, "sample")
    if figures is None:
        raise MigrationError(f"{ws.root}: no sample has run yet: run `crm-migrate sample {ws.root}` first")
    record = {"run_id": figures["run_id"], "by": by, "at": _dt.datetime.now(_dt.timezone.utc).isoformat(),
              "verdicts": figures.get("verdicts") or {}}
    write_private(ws.root / _SIGNOFF, json.dumps(record, indent=2))
    return record


def sample_gate(ws: Workspace) -> dict:
    """Whether a practice's load may start: its mapping confirmed, and its newest sample either
    clean (no field mismatched or missing) or signed off for that very sample run.

    Returns:
        ``{"open": True, "why": ...}``.

    Raises:
        SampleGateClosed: naming what stands in the way.
    """
    from ..mapping import MappingSpec

    if not ws.mapping_path.is_file():
        raise SampleGateClosed(f"{ws.root}: no mapping yet: run the map step first")
    unconfirmed = MappingSpec.load(ws.mapping_path).unconfirmed()
    if unconfirmed:
        raise SampleGateClosed(f"{ws.root}: {len(unconfirmed)} mapping fields await confirmation "
                               f"(first: {', '.join(map(str, unconfirmed[:3]))})")
    figures = _figures(ws, "sample")
    if figures is None:
        raise SampleGateClosed(f"{ws.root}: no sample has run: the load waits for one")
    if figures.get("status") not in {"finished", "complete", "completed"}:
        raise SampleGateClosed(f"{ws.root}: the sample run {figures.get('run_id')} ended {figures.get('status')}")
    verdicts = figures.get("verdicts") or {}
    bad = {k: verdicts.get(k, 0) for k in ("mismatch", "missing") if verdicts.get(k)}
    if not bad:
        return {"open": True, "why": f"sample {figures['run_id']}: {figures.get('fields_compared', 0):,} fields "
                                     "compared, none mismatched or missing"}
    signed = ws.root / _SIGNOFF
    record = json.loads(signed.read_text(encoding="utf-8")) if signed.is_file() else {}
    if record.get("run_id") == figures["run_id"]:
        return {"open": True, "why": f"sample {figures['run_id']} signed off by {record['by']} at {record['at']}"}
    raise SampleGateClosed(f"{ws.root}: the sample {figures['run_id']} has "
                           + ", ".join(f"{n:,} fields {k}" for k, n in bad.items())
                           + f": read reports/sample.html, then `crm-migrate group signoff {ws.root} --by NAME`")


def _figures(ws: Workspace, step: str) -> dict | None:
    path = ws.reports_dir / f"{step}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def rollup(manifest: GroupManifest | str | Path) -> dict:
    """Every practice's figures side by side, from the same reports each practice's own commands
    write (the fates behind its reconciliation), with the group's totals; written to
    ``<workspaces>/group.json``.

    Args:
        manifest: a checked manifest, or the path of one.
    """
    if not isinstance(manifest, GroupManifest):
        manifest = load_manifest(manifest)
    rows = []
    for p in manifest.practices:
        row: dict[str, Any] = {"practice": p.line.get("practice_name") or p.name, "name": p.name,
                               "source": p.line["source"], "destination": p.line["destination"],
                               "account": p.account}
        ws_file = p.workspace / "workspace.yaml"
        if not ws_file.is_file():
            rows.append({**row, "stage": "not started"})
            continue
        ws = Workspace.load(p.workspace)
        migrate, reconcile = _figures(ws, "migrate"), _figures(ws, "reconcile")
        row["stage"] = ("reconciled" if reconcile else "loaded" if migrate else
                        "sampled" if _figures(ws, "sample") else "audited" if _figures(ws, "audit") else "prepared")
        if migrate:
            row |= {"load status": migrate.get("status"), "load seconds": migrate.get("seconds")}
        if reconcile:
            s = reconcile["summary"]
            row |= {k: s.get(k) for k in ("source_records", "created", "updated", "merged", "excluded", "skipped",
                                           "errors", "unaccounted", "crm_records", "ok")}
            row["look first"] = "; ".join(reconcile.get("look_first") or [])
        rows.append(row)
    numbers = ("source_records", "created", "updated", "merged", "excluded", "skipped", "errors", "unaccounted",
               "crm_records")
    totals = {k: sum(int(r.get(k) or 0) for r in rows) for k in numbers}
    done = [r for r in rows if r.get("stage") == "reconciled"]
    out = {"group": manifest.group, "practices": rows, "totals": totals,
           "reconciled": len(done), "of": len(rows), "ok": bool(rows) and all(r.get("ok") for r in rows)}
    private_dir(manifest.workspaces)
    write_private(manifest.workspaces / "group.json", json.dumps(out, indent=2, default=str))
    return out


def render_reports(ws: Workspace) -> list[Path]:
    """Render the report of every step whose executed notebook is in ``WS/runs/`` (a scheduler
    runs the notebooks itself; the reports are made from what it executed, as the command line's
    are)."""
    from ..notebook_runs import STEP_LIST, render_report

    done = [st for st in STEP_LIST if (ws.runs_dir / st.notebook).is_file()]
    for st in done:  # a scheduler's papermill writes with the process's umask; the notebooks hold PHI
        os.chmod(ws.runs_dir / st.notebook, 0o600)
    return [render_report(ws, st.name) for st in done]
