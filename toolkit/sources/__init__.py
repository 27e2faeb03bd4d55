"""Sources: each reads one practice system into a :class:`~toolkit.shapes.Snapshot`.

A source is a class with ``name``, ``read(location) -> Snapshot`` and, for the built-ins, a
``generate(out, patients, seed)`` that writes a synthetic export with planted defects.
"""

from ..registry import Registry
from ._base import Source
from ._layout import date_regex

registry: Registry[type[Source]] = Registry("source", group="dental_crm_toolkit.sources")
registry.register("dent-o-soft", "toolkit.sources.dent_o_soft:DentOSoftSource")
registry.register("exact", "toolkit.sources.exact:ExactSource")
registry.register("practice-by-numbers", "toolkit.sources.practice_by_numbers:PracticeByNumbersSource")
registry.register("dental-exec", "toolkit.sources.dental_exec:DentalExecSource")
registry.register("generic-csv", "toolkit.sources.generic_csv:GenericCsvSource")

__all__ = ["Source", "date_regex", "registry"]
