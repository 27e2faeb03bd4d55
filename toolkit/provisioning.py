"""Provisioning: what must exist in the destination before records can load.

Custom fields the plan writes, the pipelines and stages its deals use (created where the
destination's API can, e.g. Pipedrive; elsewhere they must exist and are checked) and the
custom objects it loads. Each creation is journaled as a ``provision`` intent and outcome, so a
rollback can remove what a run made (custom fields) or list what it cannot (pipelines, custom
object schemas), and a resumed run finds what an interrupted one already made.
"""

from __future__ import annotations

import dataclasses

from .destinations import CustomField, Pipeline
from .errors import ConfigError
from .mapping import UNMAPPED_STAGE, Plan

__all__ = ["Provisioning"]


class Provisioning:
    """Mixed into :class:`~toolkit.engine.Engine`; uses its ``dest``, ``ledger`` and ``call``."""

    def provision(self, plan: Plan, run_id: str, extra: list[CustomField] = ()) -> list[CustomField]:
        """Create the custom fields the plan needs and the destination lacks."""
        created = []
        wanted = list(plan.custom_fields) + [cf for cf in extra if (cf.object, cf.key) not in
                                              {(c.object, c.key) for c in plan.custom_fields}]
        for obj in dict.fromkeys(cf.object for cf in wanted):
            existing = {cf.key for cf in self.call(self.dest.list_custom_fields, obj)}
            for cf in (c for c in wanted if c.object == obj and c.key not in existing):
                seq = self.ledger.intent(run_id, "provision", dest_object=f"custom_field:{obj}", source_key=cf.key,
                                         after=dataclasses.asdict(cf))
                made = self.call(self.dest.create_custom_field, cf)
                self.ledger.outcome(seq, dest_id=made.id, after=dataclasses.asdict(made))
                created.append(made)
        return created

    def pipelines(self, plan: Plan, run_id: str | None = None) -> dict[tuple[str, str], tuple[str, str]]:
        """(pipeline name, stage name) -> (pipeline id, stage id), falling back to the review stage.

        A destination whose API creates pipelines and stages (``ensure_pipeline``, Pipedrive)
        gets what is missing — every stage the plan uses, then the review stage — journaled as
        a provision; elsewhere they must exist already.

        Raises:
            ConfigError: a pipeline, or its review stage, does not exist in the destination.
        """
        if not plan.pipelines:
            return {}
        have: dict[str, Pipeline] = {p.name.strip().lower(): p for p in self.call(self.dest.list_pipelines)}
        ensure = getattr(self.dest, "ensure_pipeline", None)
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
