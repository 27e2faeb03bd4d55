"""The seam every source implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path

from ..shapes import Snapshot


@dataclass
class ApiConnection:
    """Where an API source is and how to sign in: the base URL a workspace's ``source.location``
    holds, the ``source.options`` it keeps, and environment variables to set (credentials; never
    written to the workspace)."""

    location: str
    options: dict = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


class Source(abc.ABC):
    """One practice system's export (or API) reader.

    Subclasses set ``name`` and implement :meth:`read`; file sources also implement
    :meth:`generate` so that anyone can try the toolkit without a real practice.
    """

    name: str = ""
    #: how reports write the system's name
    display_name: str = ""
    #: API sources: the sandbox (a :mod:`crm_sandbox` name) that serves this source's
    #: generated data, so the demo can run against it; None for export-file sources.
    sandbox: str | None = None

    def configure(self, *, state_dir: Path, options: dict) -> None:
        """Take the workspace's ``source.options`` and a private folder for state.

        API sources keep tokens and checkpoints in ``state_dir`` and read the NAMES of their
        credential variables from ``options``; file sources need neither (this default).
        """

    def connect_demo(self, handle) -> "ApiConnection":
        """API sources: how a workspace reaches the running sandbox ``handle`` (see :attr:`sandbox`)."""
        raise NotImplementedError(f"{self.name} is not an API source")

    @abc.abstractmethod
    def read(self, location: str | Path) -> Snapshot:
        """Read everything at ``location`` into a Snapshot.

        Raises:
            SourceError: naming file, row and column for anything unreadable.
        """

    def read_for_audit(self, location: str | Path) -> Snapshot:
        """Read for the audit, which reports problems instead of stopping at the first.

        File sources override this to read every file they can and record schema drift
        (``meta["drift"]``) and unreadable files or records (``meta["read_errors"]``). This
        default reads normally and turns a read error into an empty Snapshot that carries it.
        """
        from ..errors import SourceError

        try:
            return self.read(location)
        except SourceError as exc:
            return Snapshot(source=self.name, tables={}, schema={}, location=str(location),
                            meta={"drift": {}, "read_errors": [{
                                "object": None, "file": exc.file, "row": exc.row,
                                "column": exc.column, "message": str(exc)}]})

    def generate(self, out: str | Path, *, patients: int, seed: int) -> Path:
        """Write a synthetic export with planted defects and their ground truth to ``out``."""
        raise NotImplementedError(f"{self.name} has no generator")
