"""The optional files Dent-O-Soft 7 added: provider schedules and user-defined patient fields.

Custom fields come the way practice systems store them: one file of definitions
(``custom_fields.csv``) and one row per patient and field that has a value
(``patient_custom_values.csv``), so the audit can inventory which custom fields are in use and the
mapping can decide which become destination custom fields.
"""

from __future__ import annotations

import random
from pathlib import Path

from .._synth_export import Person, write_csv

__all__ = ["generate_extras"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
# (id, name, type, options, share of patients with a value)
_FIELDS = (
    ("CF01", "Preferred Pharmacy", "Text", "", 0.35),
    ("CF02", "Emergency Contact", "Text", "", 0.5),
    ("CF03", "Premedication Required", "YesNo", "Yes|No", 0.2),
    ("CF04", "Preferred Contact Time", "Pick", "Morning|Afternoon|Evening", 0.3),
    ("CF05", "Membership Plan Start", "Date", "", 0.08),
)
_PHARMACIES = ("CVS Pharmacy", "Walgreens", "Rite Aid", "Stop & Shop Pharmacy", "Costco Pharmacy")


def _schedules(rng: random.Random, providers: list[dict]) -> list[dict]:
    rows = []
    for p in providers:
        if p["Active"] != "Y":
            continue
        days = [d for d in _DAYS if d != "Sat" or rng.random() < 0.2]
        for day in sorted(rng.sample(days, min(len(days), rng.choice((3, 4, 5)))), key=_DAYS.index):
            start = rng.choice(("07:00", "07:30", "08:00", "09:00"))
            end = rng.choice(("15:00", "16:00", "17:00", "18:00")) if day != "Sat" else "13:00"
            op = (f"OP{rng.randrange(4, 7)}" if p["ProviderType"] == "Hygienist"
                  else f"OP{rng.randrange(1, 4)}")
            rows.append({"ScheduleID": f"S{len(rows) + 1:05d}", "ProviderID": p["ProviderID"],
                         "DayOfWeek": day, "StartTime": start, "EndTime": end, "Operatory": op})
    return rows


def _values(rng: random.Random, people: list[Person], last_names: dict[str, str]) -> list[dict]:
    rows = []
    for p in people:
        for fid, _name, ftype, options, share in _FIELDS:
            if rng.random() >= share:
                continue
            if fid == "CF01":
                value = rng.choice(_PHARMACIES)
            elif fid == "CF02":
                value = f"{rng.choice(('Spouse', 'Parent', 'Sibling', 'Friend'))} - " \
                        f"{last_names.get(p.guarantor, 'Smith')}"
            elif ftype in ("YesNo", "Pick"):
                value = rng.choice(options.split("|"))
            else:
                d = p.first_visit or p.birth
                value = f"{d.month:02d}/{d.day:02d}/{d.year:04d}"
            rows.append({"ValueID": f"V{len(rows) + 1:07d}", "PatientID": p.pid, "FieldID": fid,
                         "Value": value})
    return rows


def generate_extras(rng: random.Random, out: Path, cols: dict, people: list[Person],
                    providers: list[dict], last_names: dict[str, str]) -> dict[str, int]:
    """Write the schedules and custom-field files; returns rows per file."""
    counts = {}
    for obj, rows in (("provider_schedules", _schedules(rng, providers)),
                      ("custom_fields", [dict(zip(cols["custom_fields"], f[:4])) for f in _FIELDS]),
                      ("patient_custom_values", _values(rng, people, last_names))):
        write_csv(out / f"{obj}.csv", cols[obj], rows)
        counts[f"{obj}.csv"] = len(rows)
    return counts
