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


def test_all_is_pinned():
    assert set(toolkit.__all__) == EXPECTED


def test_every_public_name_exists():
    for name in toolkit.__all__:
        assert hasattr(toolkit, name), name


def test_core_does_not_import_the_sandbox():
    import subprocess
    import sys

    code = "import sys, toolkit, toolkit.workflow, toolkit.engine; print(any(m.startswith('toolkit.sandbox') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_error_tree_branches_by_type():
    assert issubclass(toolkit.RateLimitedError, toolkit.RetriableError)
    assert issubclass(toolkit.AuthError, toolkit.FatalError)
    assert not issubclass(toolkit.FatalError, toolkit.RetriableError)
    assert issubclass(toolkit.SchemaDriftError, toolkit.SourceError)
    err = toolkit.SourceError("bad value", file="patients.csv", row=12, column="Email")
    assert str(err) == "file patients.csv, row 12, column 'Email': bad value"
