"""The toolkit's exception tree.

Retry and resume logic branches on these types, never on message text::

    MigrationError
    ├── ConfigError            bad workspace, unknown source/destination, unset token variable
    ├── SourceError            an export or source API that cannot be read
    │   └── SchemaDriftError   a file whose columns differ from the declared layout
    ├── MappingError           a mapping that cannot be applied (unconfirmed fields, bad transform)
    │   └── SampleGateClosed   a load held until its mapping is confirmed and its sample clean or signed off
    ├── DestinationError       anything the destination answered that is not success
    │   ├── RetriableError     worth trying again: 5xx, timeouts, dropped connections
    │   │   └── RateLimitedError   429, or a quota the limiter knows is spent for now
    │   ├── PartialWriteError  a record was created, but a later call of the same write failed
    │   ├── QuotaExhaustedError    the daily quota is (nearly) spent: stop cleanly, resume later
    │   └── FatalError         the request itself is wrong (4xx): retrying cannot help
    │       ├── AuthError      401/403
    │       ├── NotFoundError  404
    │       └── FileTooLargeError  a file over the destination's upload limit (413, or refused before sending)
    └── ReconciliationError    source and destination disagree after a run

Every error carries a one-line message meant for a person; ``DestinationError`` also carries the
HTTP status and the vendor's own message.
"""

from __future__ import annotations

__all__ = [
    "MigrationError",
    "ConfigError",
    "SourceError",
    "SchemaDriftError",
    "MappingError",
    "SampleGateClosed",
    "DestinationError",
    "RetriableError",
    "RateLimitedError",
    "QuotaExhaustedError",
    "PartialWriteError",
    "FatalError",
    "AuthError",
    "NotFoundError",
    "FileTooLargeError",
    "ReconciliationError",
]


class MigrationError(Exception):
    """Base of every error the toolkit raises on purpose."""


class ConfigError(MigrationError):
    """The workspace, command line or environment is wrong; nothing has been written."""


class SourceError(MigrationError):
    """A source export or API cannot be read.

    Args:
        message: what is wrong, for a person.
        file: the file concerned, if any.
        row: 1-based line number in that file (the header is line 1), if known.
        column: the column concerned, if known.
    """

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None):
        self.file, self.row, self.column = file, row, column
        where = ", ".join(p for p in (
            f"file {file}" if file else "",
            f"row {row}" if row is not None else "",
            f"column {column!r}" if column else "",
        ) if p)
        super().__init__(f"{where}: {message}" if where else message)


class SchemaDriftError(SourceError):
    """A file's header differs from the layout declared for its source and version."""


class MappingError(MigrationError):
    """The mapping cannot be applied as written."""


class SampleGateClosed(MappingError):
    """A practice's load waits: its mapping has unconfirmed fields, or its newest sample differs
    from the source and nobody has signed that sample off."""


class DestinationError(MigrationError):
    """The destination answered something other than success.

    Args:
        message: the vendor's message, or ours when there was no answer.
        status: HTTP status, when there was a response.
        body: the decoded response body, when there was one.
    """

    def __init__(self, message: str, *, status: int | None = None, body: object = None):
        self.status, self.body = status, body
        super().__init__(f"HTTP {status}: {message}" if status else message)


class RetriableError(DestinationError):
    """Transient: a 5xx, a timeout or a dropped connection."""


class RateLimitedError(RetriableError):
    """The destination refused for rate; ``retry_after`` seconds is the wait it asked for."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw):
        self.retry_after = retry_after
        super().__init__(message, **kw)


class PartialWriteError(DestinationError):
    """A record was created (``id``), but a later call of the same write (its relation to a
    contact, properties its create call cannot carry) failed with ``cause``.

    The record exists: the caller records its id before anything else, then completes it by
    writing it again. It must never create it a second time.
    """

    def __init__(self, message: str, *, id: str, cause: Exception):
        self.id, self.cause = id, cause
        super().__init__(f"{message} (created as {id}; then: {cause})", status=getattr(cause, "status", None))


class QuotaExhaustedError(DestinationError):
    """The daily quota is spent (or nearly): stop cleanly and resume at ``resume_at``."""

    def __init__(self, message: str, *, resume_at: str | None = None, **kw):
        self.resume_at = resume_at
        super().__init__(message, **kw)


class FatalError(DestinationError):
    """The request is wrong; retrying it unchanged cannot succeed."""


class AuthError(FatalError):
    """Missing, wrong or under-scoped credentials."""


class NotFoundError(FatalError):
    """The record or endpoint does not exist."""


class FileTooLargeError(FatalError):
    """A file is over the destination's upload limit; nothing was uploaded.

    The caller can keep the file where it is and store a link to it instead.

    Attributes:
        path: the local file.
        size: its size in bytes.
        limit: the largest size the destination accepts, in bytes.
    """

    def __init__(self, message: str, *, path: str | None = None, size: int | None = None,
                 limit: int | None = None, **kw):
        self.path, self.size, self.limit = path, size, limit
        super().__init__(message, **kw)


class ReconciliationError(MigrationError):
    """After a run, source and destination do not account for each other."""
