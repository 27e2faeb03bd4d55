"""Loading: the engine that writes a Plan through a destination adapter, the ledger that journals
every call (intent before, outcome after), the load order, provisioning, files, samples, deltas
and rollback. Everything here reaches a CRM only through the Destination interface."""

from .delta import DeltaSelection, select_changes
from .engine import BULK_BATCH, Engine
from .ledger import INTERRUPTED, ROLLED_BACK, UNCHANGED, JournalEntry, Ledger, LedgerMismatchError
from .owner_resolution import OwnerResolution, resolve_owners
from .retries import Retrier
from .rollback import RollbackResult, rollback
from .run_result import RunResult
from .sample import SampleSelection, select_sample

__all__ = ["BULK_BATCH", "DeltaSelection", "Engine", "INTERRUPTED", "JournalEntry", "Ledger", "LedgerMismatchError",
           "OwnerResolution", "ROLLED_BACK", "Retrier", "RollbackResult", "RunResult", "SampleSelection", "UNCHANGED", "resolve_owners",
           "rollback", "select_changes", "select_sample"]
