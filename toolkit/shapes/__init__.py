"""The ground floor: the shapes every room speaks in, importing none of them.

Sources hand over a :class:`Snapshot`; mapping turns it into a :class:`Plan` of
:class:`PlannedRecord`; destinations take and give back :class:`Record`, provision
:class:`CustomField` and :class:`Pipeline`, and list :class:`User`.
"""

from ._plan import FILE_INPUTS, FILE_OBJECT, SET_ASIDE, UNMAPPED_STAGE, ObjectPlan, Plan, PlannedRecord
from ._records import SOURCE_ID_FIELD, CustomField, DestinationConfig, Pipeline, Record, Stage, User
from ._snapshot import ObjectSchema, Snapshot

__all__ = [
    "FILE_INPUTS", "FILE_OBJECT", "SET_ASIDE", "SOURCE_ID_FIELD", "UNMAPPED_STAGE", "CustomField", "DestinationConfig",
    "ObjectPlan", "ObjectSchema", "Pipeline", "Plan", "PlannedRecord", "Record", "Snapshot", "Stage", "User",
]
