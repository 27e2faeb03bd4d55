"""The shapes of what is known about a CRM besides its API calls: its quota, how its templates
write merge fields. Each vendor package fills them in (``<vendor>/knowledge.py``) and its
adapter class exposes them (:class:`~toolkit.destinations.Destination`), so the estimate, the
rebuild guide and the workspace ask the registry, never a table of vendors of their own."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Quota", "MergeEntry"]


@dataclass(frozen=True)
class Quota:
    """One destination account's limits and costs.

    Attributes:
        burst: requests allowed per ``burst_seconds`` window.
        burst_seconds: the burst window.
        hourly: requests allowed per hour (``None``: no hourly limit).
        daily: units allowed per day (requests, or tokens when ``unit`` is "tokens").
        unit: what ``daily`` counts.
        write_cost: destination object -> units one write of it costs (``*`` for the rest).
        batch: destination object -> records one write call carries (bulk endpoints).
        page_size: records one list call reads back.
        list_cost: units one list call costs.
        calls_per_write: destination object -> calls one record's write takes (a HighLevel custom
            record and its contact relation, a file's upload and the note that attaches it);
            ``custom_object:*`` stands for every custom object. Default 1.
        setup_per_custom_object: calls that provisioning one custom object makes (its schema,
            association, folder and the reads that check them).
        contact_reads: groups of destination objects that reconcile reads back under each
            parent record, one call per parent per group present (HighLevel: notes and files share
            one notes read; every custom object one relations read).
        reads_under: the objects whose records those reads go through (HighLevel: contacts;
            Freshsales: contacts, accounts and deals, each asked for its notes and its files).
        setup_per_pipeline: calls that making one missing pipeline takes (its create and the
            reads of pipelines and stages around it), where the API creates pipelines.
        setup_per_stage: calls per stage made in a new pipeline.
        reads_per_pipeline: reads of each pipeline the plan uses besides making it (Freshsales:
            its stages, listed pipeline by pipeline, when the map is made and again in the load;
            the account's pipelines the plan does not use cost as much, and are not counted).
        calls_per_batch: calls that follow each bulk write (Freshsales: the job's status, then the
            search that finds the new records' ids by Source ID).
        reads_per_object: destination object -> reads a run makes of it besides its writes and
            reconcile's pages (field catalogue and forms again, the list view's id, the listing of
            what is already there, reconcile's second listing); measured, per object written.
        run_reads: reads once a run besides the users and pipelines (Freshsales: lifecycle stages).
        calls_per_part: ``object.name`` (a link or a field) -> calls each record of that object
            carrying it costs besides its write (HighLevel: a contact's business, a business's
            description, each set by a call of its own).
        source: where the figures come from.
        assumptions: what was assumed to pick them.
    """

    name: str
    burst: int
    burst_seconds: float
    daily: int | None
    hourly: int | None = None
    unit: str = "requests"
    write_cost: dict[str, float] = field(default_factory=lambda: {"*": 1})
    batch: dict[str, int] = field(default_factory=dict)
    page_size: int = 100
    list_cost: float = 1
    calls_per_write: dict[str, float] = field(default_factory=dict)
    setup_per_custom_object: int = 0
    contact_reads: tuple[tuple[str, ...], ...] = ()
    reads_under: tuple[str, ...] = ("contact",)
    setup_per_pipeline: float = 0
    setup_per_stage: float = 0
    reads_per_pipeline: float = 0
    calls_per_batch: float = 0
    reads_per_object: dict[str, float] = field(default_factory=dict)
    run_reads: int = 0
    calls_per_part: dict[str, float] = field(default_factory=dict)
    source: str = ""
    assumptions: tuple[str, ...] = ()

    @property
    def rate(self) -> float:
        """Sustained requests per second the limits allow (burst and hourly together)."""
        per_s = self.burst / self.burst_seconds
        return min(per_s, self.hourly / 3600.0) if self.hourly else per_s

    def cost(self, obj: str) -> float:
        return self.write_cost.get(obj, self.write_cost.get("*", 1))

    def per_call(self, obj: str) -> int:
        return self.batch.get(obj, 1)

    def calls_for(self, obj: str) -> float:
        """Calls one record of ``obj`` takes to write (see :attr:`calls_per_write`)."""
        return _by_pattern(self.calls_per_write, obj, 1)

    def object_reads(self, targets) -> int:
        """The fixed reads a run makes of the objects in ``targets`` (see :attr:`reads_per_object`)."""
        return math.ceil(sum(_by_pattern(self.reads_per_object, t, 0) for t in targets))

    def part_calls(self, obj: str, links: dict, fields: dict) -> float:
        """Calls one record of ``obj`` with these ``links`` and ``fields`` costs besides its write
        (see :attr:`calls_per_part`)."""
        out = 0.0
        for key, n in self.calls_per_part.items():
            owner, name = key.split(".", 1)
            if owner == obj and (links.get(name) or fields.get(name) not in (None, "")):
                out += n
        return out

    def reads_per_contact(self, targets) -> int:
        """Reconcile's reads under each contact, for a load that writes ``targets``."""
        return sum(1 for group in self.contact_reads
                   if any(_matches(pattern, t) for pattern in group for t in targets))


def _matches(pattern: str, obj: str) -> bool:
    return obj == pattern or (pattern.endswith("*") and obj.startswith(pattern[:-1]))


def _by_pattern(table: dict, obj: str, default):
    if obj in table:
        return table[obj]
    return next((v for k, v in table.items() if _matches(k, obj)), default)


@dataclass(frozen=True)
class MergeEntry:
    """How a destination's templates write one concept.

    Attributes:
        token: the placeholder (for ``custom``: a pattern with ``{key}`` and ``{name}``).
        status: ``translated``, ``check`` or ``custom``.
        custom_key: for ``custom``: the mapping's custom-field key that must exist.
        note: what the person rebuilding the template should know.
    """

    token: str
    status: str = "translated"
    custom_key: str | None = None
    note: str = ""
