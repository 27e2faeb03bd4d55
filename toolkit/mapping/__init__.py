"""Mapping: the confirmed map (MappingSpec) and the pure step that turns a Snapshot into a Plan."""

from ._dedupe import find_duplicates
from ._plan import UNMAPPED_STAGE, ObjectPlan, Plan, PlannedRecord, build_plan
from ._spec import CUSTOM_TYPES, FieldMap, MappingSpec, ObjectMap
from ._transforms import apply_transform, parse_dates, transforms

__all__ = [
    "CUSTOM_TYPES", "FieldMap", "MappingSpec", "ObjectMap", "ObjectPlan", "Plan", "PlannedRecord",
    "UNMAPPED_STAGE", "apply_transform", "build_plan", "find_duplicates", "parse_dates", "transforms",
]
