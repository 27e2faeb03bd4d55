"""Mapping: the confirmed map (MappingSpec), how it is proposed and confirmed, and the pure step
that turns a Snapshot into a Plan."""

from ._carriers import carrier_table, carrier_value_map, cluster_carriers
from ._catalog import destination_object, destination_objects
from ._dedupe import find_duplicates
from ._objects import propose_mapping, propose_objects, read_folder, template_fits
from ._plan import UNMAPPED_STAGE, ObjectPlan, Plan, PlannedRecord, build_plan
from ._profiling import ValueProfile, profile
from ._proposer import CONFIRM_THRESHOLD, propose_fields, rank_concepts
from ._review_grid import ReviewGrid, mapping_table, review_grid
from ._rules import pipeline_maps
from ._spec import CUSTOM_TYPES, FieldMap, MappingSpec, ObjectMap
from ._spreadsheet import export_mapping, import_mapping, value_maps_table
from ._stages import align_stages
from ._transforms import (DATE_FORMATS, apply_transform, date_problem, email_domain_problem, email_problem,
                          parse_dates, transforms)

__all__ = [
    "DATE_FORMATS", "align_stages", "CONFIRM_THRESHOLD", "CUSTOM_TYPES", "FieldMap", "MappingSpec", "ObjectMap", "ObjectPlan", "Plan", "PlannedRecord",
    "date_problem", "email_domain_problem", "email_problem",
    "ReviewGrid", "UNMAPPED_STAGE", "ValueProfile", "apply_transform", "build_plan", "carrier_table",
    "carrier_value_map", "cluster_carriers", "destination_object", "destination_objects", "export_mapping",
    "find_duplicates", "import_mapping", "mapping_table", "parse_dates", "pipeline_maps", "profile", "propose_fields", "propose_mapping",
    "propose_objects", "rank_concepts", "read_folder", "review_grid", "template_fits", "transforms", "value_maps_table",
]
