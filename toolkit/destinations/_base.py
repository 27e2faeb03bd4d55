"""The seam every destination adapter implements.

Adapters speak the vendor's API through an injected :class:`httpx.Client`; they never read
source files. Records cross the seam in one vendor-neutral shape, :class:`Record`, both on the
way in (create/update) and on the way back (get/list), so that diffs and reconciliation compare
like with like.
"""

from __future__ import annotations

import abc
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator

import httpx

from ..errors import ConfigError, MappingError

#: The custom field every migrated record carries, holding its source record's id.
SOURCE_ID_FIELD = "source_id"


@dataclass
class DestinationConfig:
    """Where and how to reach one destination account.

    Attributes:
        base_url: the API root (a sandbox's loopback URL, or the vendor's).
        token_env: the NAME of the environment variable holding the token; never the token.
        options: vendor specifics (HighLevel ``location_id``; others later).
    """

    base_url: str
    token_env: str
    options: dict[str, Any] = field(default_factory=dict)

    def token(self) -> str:
        """Read the token from the environment.

        Raises:
            ConfigError: the variable is unset or empty.
        """
        value = os.environ.get(self.token_env, "")
        if not value:
            raise ConfigError(f"environment variable {self.token_env} is not set (it must hold the API token)")
        return value


@dataclass
class User:
    """A destination user, the target of owner resolution."""

    id: str
    email: str
    name: str = ""


@dataclass
class Stage:
    id: str
    name: str


@dataclass
class Pipeline:
    id: str
    name: str
    stages: list[Stage]

    def stage(self, name: str) -> Stage | None:
        """The stage called ``name`` (case-insensitive), if any."""
        low = name.strip().lower()
        return next((s for s in self.stages if s.name.strip().lower() == low), None)


@dataclass
class CustomField:
    """A custom field, as provisioned in the destination.

    Attributes:
        key: our key for it (``source_id``), stable across accounts.
        name: its label in the CRM.
        type: one of text|large_text|number|monetary|date|datetime|checkbox|single_option|
            multiple_options|phone|email.
        object: the destination object it belongs to (``contact``, ``opportunity``).
        options: allowed values, for pick-lists.
        id: the destination's id, once it exists.
    """

    key: str
    name: str
    type: str
    object: str
    options: list[str] = field(default_factory=list)
    id: str | None = None


@dataclass
class Record:
    """One destination record, vendor-neutral.

    Attributes:
        object: destination object (``contact``, ``opportunity``).
        fields: the destination's own API field names -> values (``firstName``).
        custom: custom-field key -> value.
        tags: tags to carry.
        owner_id: destination user id of the owner, if the object has owners.
        links: link field -> destination id of the linked record (``contactId``).
        id: the destination id, when known.
        remove_tags: on an update, tags to take off the record. ``tags`` can only add or
            overwrite (an empty list means "no tags given", not "no tags"), so a rollback that
            undoes tags a run added names them here.
    """

    object: str
    fields: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    owner_id: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    id: str | None = None
    remove_tags: list[str] = field(default_factory=list)


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
    #: objects the vendor's API cannot delete (rollback leaves them, and the reports say so)
    undeletable: ClassVar[frozenset[str]] = frozenset()

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

