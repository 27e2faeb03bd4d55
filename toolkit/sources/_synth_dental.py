"""Dental reference data for the export generators: procedures, carriers, clinical note bodies.

Procedure codes are bare CDT-format codes (``D`` + four digits) with *our own* generic labels;
no ADA descriptor is used or shipped (the ADA licenses CDT nomenclature). Carrier names are
facts; the misspelt and variant forms are patterns written from general knowledge, not taken
from any corpus (see shared/research/dental-exports.md, section 4).
"""

from __future__ import annotations

__all__ = ["PROCEDURES", "HYGIENE_CODES", "CARRIERS", "CARRIER_VARIANTS", "NOTE_TEMPLATES",
           "TOOTH_CODES", "CDT_PATTERN", "CDT_CATEGORIES", "cdt_category"]

# code -> (our generic label, typical fee low, high, weight in the schedule)
PROCEDURES: dict[str, tuple[str, int, int, int]] = {
    "D0120": ("Exam", 45, 75, 14),
    "D0150": ("Comprehensive exam", 75, 120, 4),
    "D0210": ("X-rays (full set)", 110, 160, 3),
    "D0274": ("X-rays (bitewings)", 50, 80, 8),
    "D1110": ("Cleaning", 85, 130, 20),
    "D1120": ("Cleaning (child)", 60, 90, 5),
    "D1206": ("Fluoride", 25, 45, 4),
    "D1351": ("Sealant", 40, 60, 2),
    "D2140": ("Filling (amalgam)", 110, 170, 3),
    "D2330": ("Filling (composite)", 140, 220, 7),
    "D2740": ("Crown", 950, 1450, 4),
    "D2950": ("Core buildup", 220, 320, 2),
    "D3330": ("Root canal", 900, 1300, 2),
    "D4341": ("Deep cleaning", 200, 300, 3),
    "D4910": ("Perio maintenance", 120, 180, 4),
    "D5110": ("Denture", 1400, 2200, 1),
    "D6010": ("Implant", 2000, 3200, 1),
    "D7140": ("Extraction", 150, 280, 3),
    "D8080": ("Orthodontics", 4500, 6500, 1),
    "D9110": ("Emergency visit", 90, 150, 2),
    "D9972": ("Whitening", 300, 500, 1),
}
HYGIENE_CODES = frozenset({"D1110", "D1120", "D1206", "D1351", "D4341", "D4910", "D0274"})
TOOTH_CODES = frozenset({"D2140", "D2330", "D2740", "D2950", "D3330", "D6010", "D7140", "D1351"})

# Canonical carrier -> weight.
CARRIERS: dict[str, int] = {
    "Delta Dental": 22, "Delta Dental of California": 4, "MetLife": 12, "Cigna": 9, "Aetna": 9,
    "Guardian": 7, "United Concordia": 5, "UnitedHealthcare Dental": 6, "Humana": 4,
    "Blue Cross Blue Shield": 6, "Ameritas": 3, "Principal": 2, "Sun Life": 2,
    "Lincoln Financial": 2, "GEHA": 2, "DentaQuest": 3, "Careington": 1, "Medicaid": 3,
}
# Canonical carrier -> variants typed at the front desk (case/spacing, suffixes, abbreviations,
# typos). UnitedHealthcare and United Concordia stay apart: a fuzzy matcher must not merge them.
CARRIER_VARIANTS: dict[str, tuple[str, ...]] = {
    "Delta Dental": ("DELTA DENTAL", "Delta Dental PPO", "Delta Dental Premier", "Detla Dental",
                     "Delta Dnetal", "delta dental "),
    "Delta Dental of California": ("DDCA", "Delta Dental of CA"),
    "MetLife": ("METLIFE", "Met Life", "Met-Life", "Metropolitan Life", "Metlfie"),
    "Cigna": ("CIGNA", "Cigna Dental Health", "Signa"),
    "Aetna": ("AETNA", "Aetna DMO", "Atena", "Aetana"),
    "Guardian": ("Guardian Life Ins Co of America", "Gaurdian", "GUARDIAN"),
    "United Concordia": ("UCCI", "Untied Concordia", "United Concordia Dental"),
    "UnitedHealthcare Dental": ("UHC", "United Healthcare", "UnitedHealthCare Dental"),
    "Humana": ("Humana Dental Ins Co", "Humanna"),
    "Blue Cross Blue Shield": ("BCBS", "BC/BS", "Blue Cross"),
}

# Clinical note bodies: commas, double quotes and line breaks are deliberate (quoting tests).
NOTE_TEMPLATES = (
    "Pt presents for {label}. No complaints. Tissue healthy, OHI reviewed.",
    "Pt reports sensitivity on #{tooth}, \"sharp\" on cold, lingers ~10s.\r\nRecommended {label}; "
    "pt will call back after checking benefits.",
    "{label} completed. Local anesthetic: 2% lido, 1 carp.\r\nPost-op instructions given, "
    "pt tolerated well.",
    "Reviewed tx plan with pt and spouse, discussed fees, financing, \"no rush\".\r\n"
    "Next visit: {label}.\r\nPt to confirm with front desk.",
    "Perio charting done, BOP in UL and LR, pockets 4-5mm.\r\nRecommend {label}, 3-month recall.",
    "Emergency: pt called re: broken filling, #{tooth}. Temp placed, {label} scheduled.",
    "Pt anxious, requested \"slow and gentle\"; nitrous declined. {label} without issue.",
)

#: the format of a CDT procedure code: "D" and four digits
CDT_PATTERN = r"^D\d{4}$"

# Our own coarse category labels keyed on code range (the ADA's ranges are facts; the labels are
# ours, and no ADA descriptor is shipped): (first code, last code, label).
CDT_CATEGORIES: tuple[tuple[int, int, str], ...] = (
    (0, 999, "Diagnostic"), (1000, 1999, "Preventive"), (2000, 2999, "Restorative"),
    (3000, 3999, "Endodontics"), (4000, 4999, "Periodontics"),
    (5000, 5899, "Removable prosthodontics"), (5900, 5999, "Maxillofacial prosthetics"),
    (6000, 6199, "Implants"), (6200, 6999, "Fixed prosthodontics"), (7000, 7999, "Oral surgery"),
    (8000, 8999, "Orthodontics"), (9000, 9999, "Adjunctive services"),
)


def cdt_category(code: str) -> str | None:
    """Our category label for a CDT-format code (``D2740`` -> ``Restorative``), else None."""
    if len(code) != 5 or code[0] != "D" or not code[1:].isdigit():
        return None
    n = int(code[1:])
    return next(label for lo, hi, label in CDT_CATEGORIES if lo <= n <= hi)
