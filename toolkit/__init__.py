"""Move a dental practice's data from its practice system into a CRM: audited, mapped,
verified, resumable and reversible.

The public surface is what this module exports; everything else is an implementation detail.
"""

from .audit import AuditReport, run_audit
from .destinations import CustomField, Destination, DestinationConfig, Pipeline, Record, Stage, User
from .destinations import registry as destinations
from .load.engine import Engine, RunResult
from .errors import (AuthError, ConfigError, DestinationError, FatalError, MappingError, MigrationError,
                     NotFoundError, QuotaExhaustedError, RateLimitedError, ReconciliationError, RetriableError,
                     SchemaDriftError, SourceError)
from .load.ledger import Ledger
from .mapping import MappingSpec, Plan, build_plan
from .notebook_runs import STEPS, render_html, run_step
from .load.owner_resolution import OwnerResolution, resolve_owners
from .shapes import ObjectSchema, Snapshot
from .sources import Source
from .sources import registry as sources
from .reports.views import not_loaded, owner_table, show_counts, show_findings, show_missing, show_table
from .workflow import (MigrationOutcome, Reconciliation, audit, mapping_table, migrate, open_workspace,
                       prepare_mapping, reconcile)
from .version import __version__
from .workspace import Workspace, init_workspace
# the reports a consultant sends
from .notebook_runs import render_report
from .reports import (Redactor, begin_report, show_estimate, show_migration_summary, show_rebuild_guide,
                      show_signoff)
from .workflow import estimate, migration_summary, owner_report, rebuild_guide, signoff
from .reports.views import show_group, show_mapping_fields
from .workflow.group import rollup as group_rollup
from .reports.views import show_audit, show_outcomes, show_owners, show_reconciliation, show_sample_diff, show_summary
# proposing and confirming the mapping
from .mapping import (CONFIRM_THRESHOLD, carrier_table, export_mapping, import_mapping, propose_mapping, read_folder,
                      review_grid, value_maps_table)
from .workflow import propose
# sample, full, delta and rollback runs
from .workflow import DeltaOutcome, RollbackResult, SampleOutcome, delta, owners, rollback, sample


__all__ = [
    "AuditReport", "AuthError", "ConfigError", "CustomField", "Destination", "DestinationConfig", "DestinationError",
    "Engine", "FatalError", "Ledger", "MappingError", "MappingSpec", "MigrationError", "MigrationOutcome",
    "NotFoundError", "ObjectSchema", "OwnerResolution", "Pipeline", "Plan", "QuotaExhaustedError", "RateLimitedError",
    "Reconciliation", "ReconciliationError", "Record", "RetriableError", "RunResult", "STEPS", "SchemaDriftError",
    "Snapshot", "Source", "SourceError", "Stage", "User", "Workspace", "audit", "build_plan", "destinations",
    "init_workspace", "mapping_table", "migrate", "not_loaded", "open_workspace", "owner_table", "prepare_mapping",
    "reconcile", "render_html", "resolve_owners", "run_audit", "run_step", "show_counts", "show_findings",
    "show_missing", "show_table", "sources",
]
__all__ += [  # the reports a consultant sends
    "Redactor", "begin_report", "estimate", "migration_summary", "owner_report", "rebuild_guide", "render_report",
    "show_audit", "show_estimate", "show_migration_summary", "show_outcomes", "show_owners", "show_rebuild_guide",
    "show_reconciliation", "show_sample_diff", "show_signoff", "show_summary", "signoff",
]
__all__ += [  # proposing and confirming the mapping
    "CONFIRM_THRESHOLD", "carrier_table", "export_mapping", "import_mapping", "propose", "propose_mapping",
    "read_folder", "review_grid", "value_maps_table",
]
__all__ += [  # sample, full, delta and rollback runs
    "DeltaOutcome", "RollbackResult", "SampleOutcome", "delta", "owners", "rollback", "sample",
    # a dental group's practices run together (toolkit.workflow.group; airflow/dags/)
    "group_rollup", "show_group",
    # the field table under the review grid, redrawn when it saves
    "show_mapping_fields",
]
