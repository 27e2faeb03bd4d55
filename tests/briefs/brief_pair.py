"""One seed pair run end to end at small size against its sandboxes, the way a consultant runs it
(generate, init, map, sample into staging with its diff, migrate, reconcile), and its results
read from the destination's own state for the brief's row-by-row tests."""

from __future__ import annotations

import collections
import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import crm_sandbox as sandbox
from toolkit import workflow as wf
from toolkit.demo import fallback_user
from toolkit.load import Ledger
from toolkit.sources import registry
from toolkit.workspace import default_token_env, init_workspace

#: what a moved record's fate is
MOVED = {"created", "updated", "merged"}


@dataclass
class PairRun:
    source: str
    destination: str
    ws: object
    export: Path
    state: dict
    fates: dict
    reconcile: object
    sample: object
    migrate: object
    users: list[dict]
    plan: object = None
    tables: dict = field(default_factory=dict)

    def share_moved(self, obj: str) -> float:
        """The share of one source object's records that moved (created, updated or merged)."""
        keys = [k for (o, k) in self.fates if o == obj]
        return sum(self.fates[(obj, k)][0] in MOVED for k in keys) / max(len(keys), 1)

    def fates_of(self, obj: str) -> collections.Counter:
        return collections.Counter(f for (o, _), (f, _) in self.fates.items() if o == obj)

    def unexplained(self, obj: str) -> list:
        """Records of ``obj`` that did not move and carry no reason."""
        return [(k, f) for (o, k), (f, r) in self.fates.items() if o == obj and f not in MOVED and not r]


def run_pair(tmp: Path, source: str, destination: str, *, patients: int = 25, seed: int = 7) -> PairRun:
    src = registry.get(source)()
    export = src.generate(tmp / "export", patients=patients, seed=seed)
    users_file = export / "crm_users.json"
    users = json.loads(users_file.read_text(encoding="utf-8")) if users_file.is_file() else []
    saved = dict(os.environ)
    with contextlib.ExitStack() as stack:
        location, options = export, {}
        if src.sandbox:
            conn = src.connect_demo(stack.enter_context(sandbox.start(src.sandbox, seed=str(export))))
            os.environ.update(conn.env)
            location, options = conn.location, conn.options
        box = stack.enter_context(sandbox.start(destination, seed={"users": users}, time_scale=200, burst=100_000))
        staging = stack.enter_context(sandbox.start(destination, seed={"users": users}, time_scale=200, burst=100_000))
        env = default_token_env(destination)
        os.environ[env] = box.token
        os.environ[env + "_STAGING"] = staging.token
        try:
            ws = init_workspace(tmp / "ws", source=source, export=location, destination=destination, base_url=box.url,
                                token_env=env, options=box.options, fallback_owner=fallback_user(users),
                                source_options=options)
            ws.extra["staging"] = {"base_url": staging.url, "token_env": env + "_STAGING", "options": staging.options}
            ws.save()
            wf.prepare_mapping(ws, accept_proposals=True)
            sample = wf.sample(ws, size=60, progress=False)
            migrate = wf.migrate(ws, progress=False)
            rec = wf.reconcile(ws)
            _, plan = wf.plan(ws)
            tables = dict(ws.read_source().tables)
            with Ledger(ws.ledger_path) as ledger:
                fates = ledger.fates()
            state = box.state()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return PairRun(source, destination, ws, export, state, fates, rec, sample, migrate, users, plan, tables)


def custom_values(record: dict, fields: list[dict]) -> dict:
    """A HighLevel contact's or opportunity's custom fields by key (``contact.x`` -> ``x``)."""
    keys = {f["id"]: f["fieldKey"].split(".", 1)[1] for f in fields}
    return {keys.get(c["id"], c["id"]): c.get("value", c.get("fieldValue")) for c in record.get("customFields", [])}
