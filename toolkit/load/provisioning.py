"""Provisioning: what must exist in the destination before records can load.

Custom fields the plan writes, the pipelines and stages its deals use (created where the
destination's API can, e.g. Pipedrive; elsewhere they must exist and are checked) and the
custom objects it loads. Each creation is journaled as a ``provision`` intent and outcome, so a
rollback can remove what a run made (custom fields) or list what it cannot (pipelines, custom
object schemas), and a resumed run finds what an interrupted one already made.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

from ..destinations import CustomField, Destination, Pipeline
from ..errors import ConfigError, FatalError
from ..mapping import UNMAPPED_STAGE, Plan

#: how a custom object's schema is named in the journal (``custom_object_schema:<key>``); the
#: adapter's ``undeletable`` lists ``custom_object_schema`` where schemas cannot be deleted
SCHEMA_OBJECT = "custom_object_schema"
CUSTOM_OBJECT_PREFIX = "custom_object:"

__all__ = ["Provisioning"]


class Provisioning:
    """What a run makes exist before its records, journaled in the ledger.

    Args:
        dest: the destination adapter.
        ledger: the workspace's ledger.
        call: how to call the destination (the engine's: transient failures retried).
        workers: calls in flight at once (the engine's workers, on the account's one limiter):
            set-up calls go side by side like records, so they spend the quota's windows as fully.
    """

    def __init__(self, dest: Destination, ledger, call, workers: int = 1):
        self.dest, self.ledger, self.call, self.workers = dest, ledger, call, max(1, workers)

    def _side_by_side(self, fn: Callable, items: Iterable) -> list:
        """``fn`` over ``items`` on the workers, results in order; the first failure is raised."""
        items = list(items)
        if self.workers == 1 or len(items) < 2:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.workers, len(items)), thread_name_prefix="setup") as pool:
            return list(pool.map(fn, items))

    def check_custom_objects(self, plan: Plan) -> None:
        """Refuse a plan that routes records to custom objects the destination cannot hold.

        Checked before the run is journaled, so nothing is written. A destination has custom
        objects when its adapter declares the ``custom_objects`` feature.

        Raises:
            ConfigError: naming each route to a ``custom_object:<name>`` target.
        """
        routes = [f"{o.source_object} -> {o.target}" for o in plan.objects
                  if o.target.startswith(CUSTOM_OBJECT_PREFIX)]
        if routes and not self.dest.has("custom_objects"):
            raise ConfigError(f"{self.dest.name} has no custom objects, so the mapping's route"
                              f"{'s' if len(routes) > 1 else ''} {', '.join(routes)} cannot load; route "
                              f"{'them' if len(routes) > 1 else 'it'} to a standard object or set the route's "
                              "`status: excluded` with a reason")

    def ensure_custom_objects(self, schemas: dict[str, dict], run_id: str) -> None:
        """Make sure each custom object the plan loads exists, before its fields and records.

        ``Destination.ensure_custom_object`` finds a schema or creates it; it is called on every
        run (the adapter then knows the schema's primary property). The schema is journaled as
        a ``provision`` only the first time this workspace ensures it: a rerun or resumed run
        finds it and journals nothing, so only the run that made it lists it on rollback (as
        left in place where the adapter's ``undeletable`` names ``custom_object_schema``).

        Args:
            schemas: custom object key -> ``{singular, plural, primary_field}``.
            run_id: the run the provisions are journaled under.
        """
        if not schemas:
            return
        known = self._provisioned(SCHEMA_OBJECT)

        def ensure(item: tuple[str, dict]) -> None:
            key, schema = item
            args = (key, schema["singular"], schema["plural"], schema["primary_field"])
            if key in known:
                self.call(self.dest.ensure_custom_object, *args)
                return
            seq = self.ledger.intent(run_id, "provision", dest_object=f"{SCHEMA_OBJECT}:{key}", source_key=key,
                                     after=dict(schema))
            made = self.call(self.dest.ensure_custom_object, *args)
            self.ledger.outcome(seq, dest_id=str(made), after={**schema, "key": made})

        self._side_by_side(ensure, schemas.items())

    def _provisioned(self, kind: str) -> set[str]:
        """Keys of the ``<kind>:<key>`` provisions earlier runs of this workspace completed."""
        out = set()
        for run in self.ledger.runs():
            for entry in self.ledger.done_intents(run["run_id"], ("provision",)):
                if (entry.dest_object or "").startswith(kind + ":") and entry.source_key:
                    out.add(entry.source_key)
        return out

    def provision(self, plan: Plan, run_id: str, extra: list[CustomField] = ()) -> list[CustomField]:
        """Create the custom fields the plan needs and the destination lacks.

        Objects are listed side by side, each object's first missing field is made alone (it may
        make what the object's fields share, such as a folder), then the rest side by side.
        """
        wanted = list(plan.custom_fields) + [cf for cf in extra if (cf.object, cf.key) not in
                                              {(c.object, c.key) for c in plan.custom_fields}]
        objects = list(dict.fromkeys(cf.object for cf in wanted))

        def missing(obj: str) -> list[CustomField]:
            existing = {cf.key for cf in self.call(self.dest.list_custom_fields, obj)}
            todo = [c for c in wanted if c.object == obj and c.key not in existing]
            return [self._create_field(run_id, todo[0])] + todo[1:] if todo else []

        firsts, rest = [], []
        for todo in self._side_by_side(missing, objects):
            if todo:
                firsts.append(todo[0])
                rest.extend(todo[1:])
        return firsts + self._side_by_side(lambda cf: self._create_field(run_id, cf), rest)

    def _create_field(self, run_id: str, cf: CustomField) -> CustomField:
        seq = self.ledger.intent(run_id, "provision", dest_object=f"custom_field:{cf.object}", source_key=cf.key,
                                 after=dataclasses.asdict(cf))
        try:
            made = self.call(self.dest.create_custom_field, cf)
        except FatalError:
            # A create whose answer was lost is retried and refused as "already exists": the
            # field is there, made by that first call. Adopt it; anything else stands.
            made = {c.key: c for c in self.call(self.dest.list_custom_fields, cf.object)}.get(cf.key)
            if made is None:
                raise
        self.ledger.outcome(seq, dest_id=made.id, after=dataclasses.asdict(made))
        return made

    def pipelines(self, plan: Plan, run_id: str | None = None) -> dict[tuple[str, str], tuple[str, str]]:
        """(pipeline name, stage name) -> (pipeline id, stage id), falling back to the review stage.

        A destination whose API creates pipelines and stages (``create_pipelines``, Pipedrive)
        gets what is missing — every stage the plan uses, then the review stage — journaled as
        a provision; elsewhere they must exist already.

        Raises:
            ConfigError: a pipeline, or its review stage, does not exist in the destination.
        """
        if not plan.pipelines:
            return {}
        have: dict[str, Pipeline] = {p.name.strip().lower(): p for p in self.call(self.dest.list_pipelines)}
        ensure = self.dest.ensure_pipeline if self.dest.has("create_pipelines") else None
        out = {}
        for name, stages in plan.pipelines.items():
            pipe = have.get(name.strip().lower())
            wanted = sorted(stages - {UNMAPPED_STAGE}) + [UNMAPPED_STAGE]
            if ensure is not None and (pipe is None or any(pipe.stage(s) is None for s in wanted)):
                seq = self.ledger.intent(run_id or "", "provision", dest_object=f"pipeline:{name}", source_key=name,
                                         after={"name": name, "stages": wanted}) if run_id else None
                pipe = self.call(ensure, name, wanted)
                if seq is not None:
                    self.ledger.outcome(seq, dest_id=pipe.id, after=dataclasses.asdict(pipe))
            if pipe is None:
                raise ConfigError(f"pipeline {name!r} does not exist in the destination; create it with stages "
                                  f"{', '.join(sorted(stages | {UNMAPPED_STAGE}))}")
            for stage in stages:
                st = pipe.stage(stage) or pipe.stage(UNMAPPED_STAGE)
                if st is None:
                    raise ConfigError(f"pipeline {name!r} has no stage {stage!r} and no {UNMAPPED_STAGE!r} stage")
                out[(name, stage)] = (pipe.id, st.id)
        return out
