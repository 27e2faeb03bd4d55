"""Registries by name: how the CLI, notebooks and workspace find sources and destinations.

A built-in registers itself in one line (``sources.register("dent-o-soft", DentOSoftSource)``);
a third party does the same from its own package, or - without any code running first - by an
entry point in the registry's group, as papermill's engines are found::

    [project.entry-points."dental_crm_toolkit.destinations"]
    hubspot = "my_package.hubspot:HubSpot"

Groups: ``dental_crm_toolkit.sources``, ``dental_crm_toolkit.destinations`` and
``dental_crm_toolkit.sandboxes``. Looking up an unknown name is a
:class:`~toolkit.errors.ConfigError` that lists the names that do exist.
"""

from __future__ import annotations

import importlib
from typing import Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")

__all__ = ["Registry"]


class Registry(Generic[T]):
    """A name -> implementation table with lazy imports.

    Args:
        kind: what the registry holds, for error messages ("source", "destination").
    """

    def __init__(self, kind: str, group: str | None = None):
        self.kind, self.group = kind, group
        self._entries: dict[str, T | str] = {}
        self._discovered = group is None

    def _discover(self) -> None:
        """Add the entry points of this registry's group (once; built-ins win a name clash)."""
        if self._discovered:
            return
        self._discovered = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.group):
            self._entries.setdefault(ep.name, ep.value)

    def register(self, name: str, impl: T | str) -> None:
        """Register ``impl`` (an object, or ``"module:attr"`` imported on first use) as ``name``."""
        self._entries[name] = impl

    def unregister(self, name: str) -> None:
        """Forget ``name`` (a no-op when it is not registered); entry points are not re-read."""
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        """Return the implementation registered as ``name``.

        Raises:
            ConfigError: no such name.
        """
        if name not in self._entries:
            self._discover()
        try:
            impl = self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise ConfigError(f"unknown {self.kind} {name!r} (known: {known})") from None
        if isinstance(impl, str):
            module, _, attr = impl.partition(":")
            impl = getattr(importlib.import_module(module), attr)
            self._entries[name] = impl
        return impl

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._discover()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        if name not in self._entries:
            self._discover()
        return name in self._entries
