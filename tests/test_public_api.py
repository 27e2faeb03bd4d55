"""The public surface is pinned: adding or removing a name is a deliberate change."""

import toolkit

EXPECTED = {
    "AuditReport", "AuthError", "ConfigError", "CustomField", "Destination", "DestinationConfig", "DestinationError",
    "Engine", "FatalError", "Ledger", "MappingError", "MappingSpec", "MigrationError", "MigrationOutcome",
    "NotFoundError", "ObjectSchema", "OwnerResolution", "Pipeline", "Plan", "QuotaExhaustedError", "RateLimitedError",
    "Reconciliation", "ReconciliationError", "Record", "RetriableError", "RunResult", "STEPS", "SchemaDriftError",
    "Snapshot", "Source", "SourceError", "Stage", "User", "Workspace", "audit", "build_plan", "destinations",
    "init_workspace", "mapping_table", "migrate", "not_loaded", "open_workspace", "owner_table", "prepare_mapping",
    "reconcile", "render_html", "resolve_owners", "run_audit", "run_step", "show_counts", "show_findings",
    "show_missing", "show_table", "sources",
}
EXPECTED |= {  # proposing and confirming the mapping
    "CONFIRM_THRESHOLD", "carrier_table", "export_mapping", "import_mapping", "propose", "propose_mapping",
    "read_folder", "review_grid", "value_maps_table",
}
EXPECTED |= {  # sample, full, delta and rollback runs
    "DeltaOutcome", "RollbackResult", "SampleOutcome", "delta", "owners", "rollback", "sample",
}
EXPECTED |= {  # the reports a consultant sends
    "Redactor", "begin_report", "estimate", "migration_summary", "owner_report", "rebuild_guide", "render_report",
    "show_audit", "show_estimate", "show_migration_summary", "show_outcomes", "show_owners", "show_rebuild_guide",
    "show_reconciliation", "show_sample_diff", "show_signoff", "show_summary", "signoff",
}

EXPECTED |= {"group_rollup", "show_group"}  # a dental group's practices, run together
EXPECTED |= {"show_mapping_fields"}  # the field table under the review grid


def test_all_is_pinned():
    assert set(toolkit.__all__) == EXPECTED


def test_every_public_name_exists():
    for name in toolkit.__all__:
        assert hasattr(toolkit, name), name


def test_core_does_not_import_the_sandbox():
    import subprocess
    import sys

    code = "import sys, toolkit, toolkit.workflow, toolkit.load.engine; print(any(m.startswith('crm_sandbox') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_error_tree_branches_by_type():
    assert issubclass(toolkit.RateLimitedError, toolkit.RetriableError)
    assert issubclass(toolkit.AuthError, toolkit.FatalError)
    assert not issubclass(toolkit.FatalError, toolkit.RetriableError)
    assert issubclass(toolkit.SchemaDriftError, toolkit.SourceError)
    err = toolkit.SourceError("bad value", file="patients.csv", row=12, column="Email")
    assert str(err) == "file patients.csv, row 12, column 'Email': bad value"
