"""The Plan: destination-ready records, in load order, as build_plan makes them and the engine
loads them. Lookups to other records are kept as *source* keys until the engine resolves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._records import CustomField, Record

__all__ = ["Plan", "ObjectPlan", "PlannedRecord", "UNMAPPED_STAGE", "FILE_OBJECT", "FILE_INPUTS", "SET_ASIDE"]

#: the destination object a file record travels as
FILE_OBJECT = "file"
#: a file record's fields that tell the engine what to upload; the destination stores neither
FILE_INPUTS = frozenset({"path", "size"})
#: how the reason of a row the reader set aside as malformed ends (its error in the ledger): such
#: rows are counted apart, as known before the load and loadable only once the export is mended
SET_ASIDE = "set aside, not loaded"
#: the stage a deal whose source stage has no mapping lands in, for a person to review
UNMAPPED_STAGE = "Unmapped — Review Required"


@dataclass
class PlannedRecord:
    """One record to write, with everything the engine needs and nothing it must look up."""

    source_object: str
    source_key: str
    record: Record
    owner_email: str | None = None
    links: dict[str, tuple[str, str]] = field(default_factory=dict)
    pipeline: tuple[str, str] | None = None
    flags: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    content_hash: str = ""


@dataclass
class ObjectPlan:
    """One route's records.

    Attributes:
        owner_required: a record whose owner matches no destination user is skipped rather than
            given to the fallback user (a provider's own hours belong to that provider only).
    """

    source_object: str
    target: str
    records: list[PlannedRecord]
    pipeline_fields: tuple[str, str] | None = None
    owner_required: bool = False


@dataclass
class Plan:
    """Everything a run will write, in load order.

    Attributes:
        objects: per mapped (source object, target) pair, in dependency order.
        unrouted: (source object, key, reason) for records no route takes and nothing carries:
            skipped, with the reason, so that every source record is accounted for.
        merged: (source object, key, reason) for records carried as part of other records (a
            custom-field value on its contact, a form submission in its contact's long-text
            field, a referral source in the tags of the patients that name it); the reason names
            the record(s) they went into.
        excluded: (source object, key, reason) for records the confirmed mapping leaves out on
            purpose (an excluded route, or an object it lists as not migrated, with its reason).
        quarantined: (source object, key, reason) for rows the reader set aside as malformed (a
            wrong number of fields): journaled as errors with that reason, the rest of their
            file moving on (the key is ``line N``, the row's line in its file).
        custom_fields: custom fields that must exist before loading.
        pipelines: pipeline name -> stage names the records use.
        aliases: (source object, duplicate key) -> the key of the record it duplicates, so
            that records pointing at a duplicate link to the record kept.
        notes: what build_plan changed from the mapping's letter and why (a multi-select kept
            as comma-separated text where the destination object has no multi-select).
        mapping: the mapping the plan was built from (a ``MappingSpec``), so that the steps after
            the plan (custom objects, the field diff) read it once with the plan.
    """

    source: str
    destination: str
    objects: list[ObjectPlan]
    unrouted: list[tuple[str, str, str]]
    custom_fields: list[CustomField]
    pipelines: dict[str, set[str]]
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    mapping: Any = field(default=None, repr=False, compare=False)
    merged: list[tuple[str, str, str]] = field(default_factory=list)
    excluded: list[tuple[str, str, str]] = field(default_factory=list)
    quarantined: list[tuple[str, str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {f"{o.source_object}->{o.target}": len(o.records) for o in self.objects}

    def owner_emails(self) -> dict[str, int]:
        """Source owner email -> records it owns (``""`` for records whose owner has no email)."""
        out: dict[str, int] = {}
        for o in self.objects:
            for r in o.records:
                if r.skip_reason is None and r.owner_email is not None:
                    out[r.owner_email] = out.get(r.owner_email, 0) + 1
        return out
