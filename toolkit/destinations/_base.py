"""The seam every destination adapter implements.

Adapters speak the vendor's API through an injected :class:`httpx.Client`; they never read
source files. Records cross the seam in one vendor-neutral shape, :class:`Record`, both on the
way in (create/update) and on the way back (get/list), so that diffs and reconciliation compare
like with like.
"""

from __future__ import annotations

import abc
import contextlib
from typing import Any, Callable, ClassVar, ContextManager, Iterator, Sequence

import httpx

from ..errors import MappingError
from ..shapes import SOURCE_ID_FIELD, CustomField, DestinationConfig, Pipeline, Record, Stage, User

#: optional features a destination adapter may declare
FEATURES = frozenset({
    "bulk_create",       # create_many: many records in one call (Freshsales bulk upsert)
    "bulk_delete",       # destroy_many: many deletes in one call
    "create_pipelines",  # ensure_pipeline: pipelines and stages through the API (Pipedrive)
    "custom_objects",    # ensure_custom_object: custom object schemas and their records (HighLevel)
})


class Destination(abc.ABC):
    """A CRM account the toolkit can provision, write, read back and roll back.

    Args:
        config: where and how to reach the account.
        client: an httpx client to use (tests inject one with a MockTransport); the adapter
            builds its own, with TLS verification on, when none is given.
    """

    name: ClassVar[str] = ""
    #: destination objects this adapter can write, in load order
    objects: ClassVar[tuple[str, ...]] = ()
    #: whether records carry an owner user
    has_owners: ClassVar[bool] = True
    #: objects whose records take no owner even so (the engine leaves their owner unset)
    ownerless: ClassVar[frozenset[str]] = frozenset()
    #: objects whose records cannot carry their Source ID (found by content instead)
    without_source_id: ClassVar[frozenset[str]] = frozenset()
    #: objects the vendor's API cannot delete (rollback leaves them, and the reports say so)
    undeletable: ClassVar[frozenset[str]] = frozenset()
    #: the optional features this adapter has (names from :data:`FEATURES`); callers ask
    #: :meth:`has`, never probe for methods
    features: ClassVar[frozenset[str]] = frozenset()
    #: objects :meth:`create_many` and :meth:`destroy_many` take (with ``bulk_create``/``bulk_delete``)
    bulk_objects: ClassVar[frozenset[str]] = frozenset()
    #: the largest file :meth:`create` uploads, in bytes (None: no limit known)
    max_file_bytes: int | None = None
    #: the account's rate limiter, shared by every call to it (``None``: the adapter paces itself
    #: without one the engine can see)
    limiter: Any = None

    # --- what is known of the CRM besides its calls (its package's ``knowledge`` module) ----
    #: how reports write the CRM's name
    display_name: ClassVar[str] = ""
    #: the API root ``init`` uses when given none (None: the account's own URL is required)
    default_base_url: ClassVar[str | None] = None
    #: the environment variable ``init`` names for the token when given none
    default_token_env: ClassVar[str] = ""
    #: whether its workflows send SMS themselves
    sends_sms: ClassVar[bool] = False
    #: concept -> how its templates write a merge field (:class:`~.knowledge.MergeEntry`)
    merge_fields: ClassVar[dict[str, Any]] = {}
    #: kind of automation -> where it is rebuilt in this CRM
    rebuild_where: ClassVar[dict[str, str]] = {}

    @classmethod
    def quota(cls, options: dict) -> Any:
        """The account's limits and costs (:class:`~.knowledge.Quota`) for its destination options.

        Raises:
            ConfigError: the options name an unknown plan, or no quota is known.
        """
        from ..errors import ConfigError

        raise ConfigError(f"no API quota is known for destination {cls.name!r}")

    def __init__(self, config: DestinationConfig, client: httpx.Client | None = None):
        self.config = config
        self.client = client

    @property
    def account(self) -> str:
        """The account this adapter writes to, as a ledger records it: vendor, host and the
        account option that names a sub-account (never the token)."""
        from urllib.parse import urlsplit

        host = urlsplit(self.config.base_url or "").netloc or self.config.base_url
        sub = self.config.options.get("location_id") or self.config.options.get("account_id")
        return f"{self.name}:{host}" + (f"/{sub}" if sub else "")

    # --- schema -----------------------------------------------------------------------
    @abc.abstractmethod
    def list_users(self) -> list[User]: ...

    @abc.abstractmethod
    def list_pipelines(self) -> list[Pipeline]: ...

    @abc.abstractmethod
    def list_custom_fields(self, object: str) -> list[CustomField]: ...

    @abc.abstractmethod
    def create_custom_field(self, spec: CustomField) -> CustomField: ...

    @abc.abstractmethod
    def delete_custom_field(self, spec: CustomField) -> None: ...

    def settle_lost_create(self, object: str, source_id: str) -> None:
        """Clear what a create killed midway left behind, when the record itself is not there.

        Called when resuming after a crash, for a create whose record :meth:`find_by_source_id`
        does not find. Most creates are one call and leave nothing; an adapter whose creates take
        several (an upload, then the note that attaches it) removes the first part here, so the
        create made again leaves no orphan.
        """

    def has(self, feature: str) -> bool:
        """Whether the adapter has optional ``feature`` (one of :data:`FEATURES`)."""
        if feature not in FEATURES:
            raise ValueError(f"unknown destination feature {feature!r} (known: {', '.join(sorted(FEATURES))})")
        return feature in self.features

    # --- optional features: an adapter that declares one overrides its method ------------
    def create_many(self, records: list[Record]) -> list[str | Exception]:
        """``bulk_create``: create ``records`` (of :attr:`bulk_objects`) in one call, keyed on their
        Source IDs so a retried batch cannot duplicate; per record its id or its error."""
        raise NotImplementedError(f"{self.name} has no bulk create")

    def destroy_many(self, object: str, ids: list[str]) -> None:
        """``bulk_delete``: delete many records of ``object`` (of :attr:`bulk_objects`) in one call."""
        raise NotImplementedError(f"{self.name} has no bulk delete")

    def ensure_pipeline(self, name: str, stages: list[str]) -> Pipeline:
        """``create_pipelines``: make pipeline ``name`` exist with every stage in ``stages``."""
        raise NotImplementedError(f"{self.name} cannot create pipelines through its API")

    def ensure_custom_object(self, key: str, singular: str, plural: str, primary_field: str) -> str:
        """Make sure custom object ``custom_object:<key>`` exists; returns the vendor's id/key for it.

        Records of it then travel as ``Record(object="custom_object:<key>")`` and its fields as
        ``CustomField(object="custom_object:<key>")``.

        Raises:
            FatalError: the destination has no custom objects (the caller reports what stays behind).
        """
        from ..errors import FatalError

        raise FatalError(f"{self.name} has no custom objects; custom_object:{key} cannot be created")

    # --- records ----------------------------------------------------------------------
    @abc.abstractmethod
    def create(self, record: Record) -> str:
        """Create ``record``; return its destination id."""

    @abc.abstractmethod
    def update(self, record: Record) -> None:
        """Overwrite the fields present in ``record`` (``record.id`` set)."""

    @abc.abstractmethod
    def get(self, object: str, id: str) -> Record | None:
        """Read one record back, or None when it does not exist."""

    @abc.abstractmethod
    def delete(self, object: str, id: str) -> None:
        """Delete one record (deleting a missing record is not an error)."""

    @abc.abstractmethod
    def find_by_source_id(self, object: str, source_id: str) -> str | None:
        """The destination id of the record carrying ``source_id``, if one exists."""

    @abc.abstractmethod
    def iter_records(self, object: str) -> Iterator[Record]:
        """Every record of ``object``, following the vendor's pagination."""

    def reading(self, objects: Sequence[str] = (), workers: int = 1,
                call: Callable | None = None) -> ContextManager[None]:
        """A read-back (reconcile, a sample's diff): inside it, ``iter_records`` may share reads
        between objects and make them from ``workers`` threads on the account's limiter.

        Nothing may be written inside it: what was read once is not read again. The default
        changes nothing; adapters whose API reads some objects per parent (HighLevel's notes
        and relations, one call per contact) make those calls once for every object.

        Args:
            objects: the objects that will be listed (an adapter may choose its reads by them).
            workers: calls in flight at once.
            call: how to make one call (the engine's retrying ``call``); default direct.
        """
        return contextlib.nullcontext()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


class ByKind:
    """Record calls passed to the adapter's handler for the record's object (``_kind(object)``).

    HighLevel and Pipedrive keep one handler per object (contacts, notes, leads, …); the seam's
    create/update/get are the same three lines for both, so they live here.
    """

    def _kind(self, object: str) -> Any:  # pragma: no cover - every adapter using this defines it
        raise NotImplementedError

    def create(self, record: Record) -> str:
        """Create ``record``; return its destination id."""
        return self._kind(record.object).create(record)

    def update(self, record: Record) -> None:
        """Overwrite the fields present in ``record`` (``record.id`` set)."""
        if not record.id:
            raise MappingError("update needs record.id")
        self._kind(record.object).update(record)

    def get(self, object: str, id: str) -> Record | None:
        """Read one record back in the shape it was written in, or None when it does not exist."""
        return self._kind(object).get(id)

