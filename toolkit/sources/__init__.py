"""Sources: each reads one practice system into a :class:`~toolkit.snapshot.Snapshot`.

A source is a class with ``name``, ``read(location) -> Snapshot`` and, for the built-ins, a
``generate(out, patients, seed)`` that writes a synthetic export with planted defects.
"""

from ..registry import Registry
from ._base import Source

registry: Registry[type[Source]] = Registry("source")
registry.register("dent-o-soft", "toolkit.sources.dent_o_soft:DentOSoftSource")

__all__ = ["Source", "registry"]
