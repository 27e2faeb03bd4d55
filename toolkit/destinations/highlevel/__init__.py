"""HighLevel (LeadConnector) API v2 destination: see :mod:`.adapter` for the objects it moves.

``toolkit.destinations.highlevel:HighLevel`` is the registry's entry for it.
"""

from ._activities import MAX_UPLOAD_BYTES
from ._api import API_VERSION, CALENDAR_VERSION, DEFAULT_BASE_URL, FileTooLargeError
from ._crm import PARENT_FIELD
from ._values import TYPE_TO_HL
from .adapter import HighLevel

__all__ = ["HighLevel", "DEFAULT_BASE_URL", "API_VERSION", "CALENDAR_VERSION", "TYPE_TO_HL", "FileTooLargeError",
           "MAX_UPLOAD_BYTES", "PARENT_FIELD"]
