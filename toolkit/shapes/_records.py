"""The records that cross between the toolkit's rooms: what a destination holds, vendor-neutral.

A destination adapter takes and gives back :class:`Record`; provisioning speaks of
:class:`CustomField`, :class:`Pipeline` and :class:`User`. Nothing here knows a vendor.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

__all__ = ["SOURCE_ID_FIELD", "DestinationConfig", "User", "Stage", "Pipeline", "CustomField", "Record"]

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
