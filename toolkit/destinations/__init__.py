"""Destinations: one adapter per CRM behind a single seam (:class:`Destination`)."""

from ..registry import Registry
from ._base import FEATURES, CustomField, Destination, DestinationConfig, Pipeline, Record, Stage, User

registry: Registry[type[Destination]] = Registry("destination", group="dental_crm_toolkit.destinations")
registry.register("highlevel", "toolkit.destinations.highlevel:HighLevel")
registry.register("freshsales", "toolkit.destinations.freshsales:Freshsales")
registry.register("pipedrive", "toolkit.destinations.pipedrive:Pipedrive")

__all__ = [
    "FEATURES",
    "CustomField",
    "Destination",
    "DestinationConfig",
    "Pipeline",
    "Record",
    "Stage",
    "User",
    "registry",
]
