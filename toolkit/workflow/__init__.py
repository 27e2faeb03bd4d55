"""The orchestrator: one call per step of a migration, what the notebooks and the CLI run.

Each step reads the source and builds the plan once, and passes them on: to owner resolution,
the engine, the field diff, the reconciliation. Each writes its figures to
``WS/reports/<step>.json`` and returns them, so a notebook is a list of these calls and a display
of what they return.
"""

from ..load.rollback import RollbackResult
from ..verify.reconciliation import Reconciliation
from ._documents import estimate, migration_summary, owner_report, rebuild_guide, signoff
from ._runs import (AdoptOutcome, DeltaOutcome, MigrationOutcome, SampleOutcome, adopt, audit, delta, mapping_table,
                    migrate, prepare_mapping, propose, reconcile, rollback, sample)
from .status import WorkspaceStatus, status
from ._setup import (ENGINE_DEFAULTS, custom_objects, open_workspace, owners, plan, staging_destination, template_path,
                     write_figures)

__all__ = [
    "AdoptOutcome", "DeltaOutcome", "ENGINE_DEFAULTS", "MigrationOutcome", "Reconciliation", "RollbackResult",
    "SampleOutcome", "adopt", "audit", "custom_objects", "delta", "estimate", "mapping_table", "migrate",
    "migration_summary", "open_workspace", "owner_report", "owners", "plan", "prepare_mapping", "propose",
    "rebuild_guide", "reconcile", "rollback", "sample", "signoff", "staging_destination", "status", "template_path",
    "WorkspaceStatus", "write_figures",
]
