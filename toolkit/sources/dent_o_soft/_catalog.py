"""Reference data only Dent-O-Soft's generator uses: its referral sources and appointment notes.

Procedures, carriers and clinical note bodies are shared by every generator
(:mod:`toolkit.sources._synth_dental`); they are re-exported here for the modules that import them
from this one.
"""

from __future__ import annotations

from .._synth_dental import CARRIER_VARIANTS, CARRIERS, HYGIENE_CODES, NOTE_TEMPLATES, PROCEDURES, \
    TOOTH_CODES

__all__ = ["PROCEDURES", "HYGIENE_CODES", "CARRIERS", "CARRIER_VARIANTS", "REFERRAL_SOURCES",
           "NOTE_TEMPLATES", "APPOINTMENT_NOTES", "TOOTH_CODES"]

# (id, name, category); the en dash is cp1252 (0x96) on purpose.
REFERRAL_SOURCES: tuple[tuple[str, str, str], ...] = (
    ("RS01", "Delta Dental PPO Network", "Insurance Network"),
    ("RS02", "Google Ads – Spring Whitening", "Marketing Campaign"),
    ("RS03", "Facebook New Patient Offer", "Marketing Campaign"),
    ("RS04", "Existing Patient Referral", "Patient Referral"),
    ("RS05", "Practice Website", "Web"),
    ("RS06", "Yelp Listing", "Web"),
    ("RS07", "Walk-in", "Walk-in"),
    ("RS08", "Cigna Provider Directory", "Insurance Network"),
)
APPOINTMENT_NOTES = (
    "", "", "", "", "", "", "New patient", "Prefers mornings", "Confirm by text",
    "Needs pre-med", "Bring insurance card", "Running late, called", "Ins verification pending",
    "Spouse also scheduled", "Wants whitening quote, cosmetic consult",
)
