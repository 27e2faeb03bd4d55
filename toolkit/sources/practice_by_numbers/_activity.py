"""Everything that hangs off a patient in the synthetic Practice by Numbers export: appointments,
the procedure log, KPI properties, insurance, the communication log, form submissions and case
pipelines (with their planted defects). Called by :func:`.generator.generate`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable

from .._synth_defects import bad_cdt
from .._synth_dental import CARRIER_VARIANTS, CARRIERS, HYGIENE_CODES, PROCEDURES, TOOTH_CODES, cdt_category
from .._synth_export import AS_OF, TODAY, Truth, add_months, at_least_one, money, rand_date, weighted
from .._synth_households import Human

__all__ = ["generate_activity", "KPI_PROPERTIES"]

_TYPES = {"Hygiene": 50, "Restorative": 25, "New Patient": 8, "Emergency": 5, "Consult": 12}
_PAST = {"Completed": 82, "Cancelled": 8, "Broken": 4, "No Show": 6}
_CODES_FOR = {"Hygiene": ("D1110", "D0120", "D0274", "D1206", "D4910"),
              "Restorative": ("D2330", "D2140", "D2740", "D2950", "D3330"),
              "New Patient": ("D0150", "D0210", "D1110"), "Emergency": ("D9110", "D7140"),
              "Consult": ("D0150", "D9972", "D6010", "D8080")}
_CASE_TYPE = {"Diagnostic": "Diagnostic", "Preventive": "Preventive", "Restorative": "Restorative",
              "Endodontics": "Endodontic", "Periodontics": "Periodontic", "Removable prosthodontics": "Prosthetic",
              "Fixed prosthodontics": "Prosthetic", "Implants": "Implant", "Oral surgery": "Surgical",
              "Orthodontics": "Orthodontic", "Adjunctive services": "Other"}
_STAGES = {"Presented": 30, "Accepted": 15, "Scheduled": 15, "Partially Completed": 8, "Completed": 20, "Lost": 12}
_PROB = {"Presented": 30, "Accepted": 60, "Scheduled": 80, "Partially Completed": 90, "Completed": 100, "Lost": 0}
_PIPELINE_CODES = {"Restorative": ("D2740", "D2950", "D3330", "D2330"), "Cosmetic": ("D9972", "D2740"),
                   "Perio": ("D4341", "D4910"), "Ortho": ("D8080",), "Implant": ("D6010", "D7140")}
#: (key, label, data type, applies to, options)
KPI_PROPERTIES = (
    ("lifetime_production", "Lifetime Production", "money", "patient", ""),
    ("production_ytd", "Production YTD", "money", "patient", ""),
    ("case_acceptance_rate", "Case Acceptance Rate", "percent", "patient", ""),
    ("insurance_carrier", "Insurance Carrier", "text", "patient", ""),
    ("last_hygiene_date", "Last Hygiene Date", "date", "patient", ""),
    ("membership_plan", "Membership Plan", "picklist", "patient", "None|Basic|Perio Plus"),
    ("production_per_hour", "Production per Hour", "money", "office", ""),
    ("collections_ytd", "Collections YTD", "money", "office", ""),
    ("office_case_acceptance", "Case Acceptance Rate", "percent", "office", ""),
    ("new_patients", "New Patients", "number", "office", ""),
    ("hygiene_reappointment", "Hygiene Reappointment Rate", "percent", "office", ""),
)
_FORMS = ("New Patient Intake", "Medical History", "HIPAA Consent", "Treatment Consent", "Financial Policy")


def _ts(t: dt.datetime) -> str:
    return min(t, AS_OF).strftime("%Y-%m-%d %H:%M:%S")


def _at(rng: random.Random, day: dt.date, lo: int = 8, hi: int = 18) -> dt.datetime:
    m = rng.randrange(lo * 60, hi * 60)
    return dt.datetime(day.year, day.month, day.day, m // 60, m % 60, rng.randrange(60))


def _appointments(rng, people: list[Human], patients: list[dict], staff: list[dict]):
    by_office = {}
    for s in staff:
        by_office.setdefault((s["office_id"], s["role"]), []).append(s["staff_id"])
    rows, done = [], []
    for h, p in zip(people, patients):
        days: list[dt.date] = []
        if h.first_visit and h.last_visit:
            n = rng.choice((1, 2, 3, 4, 5)) if h.extra.get("active") else rng.choice((1, 2))
            days = sorted({h.first_visit, h.last_visit, *(rand_date(rng, h.first_visit, h.last_visit) for _ in range(n - 2))})
        if p["status"] in ("Active", "New") and rng.random() < 0.45:
            days.append(rand_date(rng, TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=120)))
        for day in days:
            atype = weighted(rng, _TYPES) if day != h.first_visit else "New Patient"
            role = "Hygienist" if atype == "Hygiene" else "Dentist"
            prov = rng.choice(by_office.get((p["office_id"], role)) or by_office[(p["office_id"], "Dentist")])
            status = (("Confirmed" if rng.random() < 0.5 else "Scheduled") if day > TODAY
                      else "Completed" if day == h.last_visit else weighted(rng, _PAST))
            start = _at(rng, day, 7, 17).replace(second=0, minute=rng.choice((0, 15, 30, 45)))
            created = _at(rng, max(day - dt.timedelta(days=rng.randrange(3, 60)), h.created))
            rows.append({
                "appointment_id": f"APT{len(rows) + 1:08d}", "patient_id": p["patient_id"],
                "office_id": p["office_id"], "provider_id": prov,
                "operatory": f"Op {rng.randrange(1, 6)}", "appointment_type": atype,
                "start_time": start.strftime("%Y-%m-%d %H:%M:%S"),
                "duration_minutes": str(rng.choice((30, 45, 60, 60, 90))), "status": status,
                "confirmed_via": rng.choice(("SMS", "SMS", "Email", "Phone")) if status in ("Confirmed", "Completed") and rng.random() < 0.8 else "",
                "created_at": _ts(min(created, start)), "updated_at": _ts(max(created, start)),
            })
            if status == "Completed":
                done.append((len(rows) - 1, atype, prov, day))
    return rows, done


def _procedures(rng, appts: list[dict], done, truth: Truth, rate: float) -> list[dict]:
    rows = []
    for i, atype, prov, day in done:
        for code in rng.sample(_CODES_FOR[atype], min(len(_CODES_FOR[atype]), rng.choice((1, 1, 2, 3)))):
            lo, hi = PROCEDURES[code][1:3]
            rows.append({"procedure_id": f"PR{len(rows) + 1:08d}", "patient_id": appts[i]["patient_id"],
                         "appointment_id": appts[i]["appointment_id"], "provider_id": prov,
                         "procedure_code": code, "procedure_label": PROCEDURES[code][0],
                         "tooth": str(rng.randrange(1, 33)) if code in TOOTH_CODES else "",
                         "fee": money(round(rng.uniform(lo, hi) / 5) * 5), "status": "Completed",
                         "case_type": _CASE_TYPE[cdt_category(code)], "service_date": day.isoformat()})
    for i in sorted(rng.sample(range(len(rows)), min(at_least_one(rate, len(rows)), len(rows)))):
        bad = bad_cdt(rng, rows[i]["procedure_code"])
        truth.plant("invalid_cdt_code", "procedure_log.csv", i, "procedure_code", rows[i]["procedure_id"], bad,
                    original=rows[i]["procedure_code"])
        rows[i]["procedure_code"] = bad
    return rows


def _insurance(rng, people: list[Human], patients: list[dict], truth: Truth, rate: float) -> list[dict]:
    rows, plan_of = [], {}
    for h, p in zip(people, patients):
        if h.duplicate_of is not None:
            continue
        plan = plan_of.get(h.household)
        if plan is None and h.head:
            if rng.random() >= 0.75:
                plan_of[h.household] = False
                continue
            carrier = weighted(rng, CARRIERS)
            plan = plan_of[h.household] = (carrier, "Medicaid" if carrier == "Medicaid" else rng.choice(("PPO", "PPO", "HMO", "Indemnity")),
                                           f"{rng.randrange(10**6):06d}", f"X{rng.randrange(10**9):09d}",
                                           money(rng.choice((1000, 1500, 2000, 2500))))
        if not plan:
            continue
        used = rng.uniform(0, float(plan[4]))
        rows.append({"insurance_id": f"INS{len(rows) + 1:07d}", "patient_id": p["patient_id"],
                     "carrier_name": plan[0], "plan_type": plan[1], "group_number": plan[2],
                     "subscriber_id": plan[3], "relationship": "Self" if h.head else rng.choice(("Spouse", "Child")),
                     "is_primary": "true", "coverage_start": rand_date(rng, TODAY - dt.timedelta(days=900), TODAY).isoformat(),
                     "annual_max": plan[4], "remaining_benefit": money(float(plan[4]) - used)})
    pool = [i for i, r in enumerate(rows) if r["carrier_name"] in CARRIER_VARIANTS]
    for i in sorted(rng.sample(pool, min(at_least_one(rate, len(rows)), len(pool)))):
        canon = rows[i]["carrier_name"]
        rows[i]["carrier_name"] = rng.choice(CARRIER_VARIANTS[canon])
        truth.plant("carrier_variant", "insurance.csv", i, "carrier_name", rows[i]["insurance_id"],
                    rows[i]["carrier_name"], canonical=canon)
    return rows


def _communications(rng, appts: list[dict], patients: list[dict]) -> list[dict]:
    rows = []
    known = {p["patient_id"] for p in patients}
    for a in appts:
        if a["patient_id"] not in known or rng.random() < 0.3:
            continue
        start = dt.datetime.strptime(a["start_time"], "%Y-%m-%d %H:%M:%S")
        sent = start - dt.timedelta(days=2, hours=rng.randrange(0, 6))
        if sent > AS_OF:
            continue
        rows.append({"message_id": f"MSG{len(rows) + 1:08d}", "patient_id": a["patient_id"], "office_id": a["office_id"],
                     "channel": "SMS", "direction": "Outbound", "category": "Reminder", "campaign_id": "CMP-02",
                     "sent_at": _ts(sent), "status": rng.choice(("Delivered", "Delivered", "Read", "Replied", "Failed")),
                     "body": f"See you {start:%b %d} at {start:%I:%M %p}. Reply C to confirm."})
        if rows[-1]["status"] == "Replied":
            rows.append({**rows[-1], "message_id": f"MSG{len(rows) + 1:08d}", "direction": "Inbound",
                         "category": "Conversation", "campaign_id": "", "status": "Delivered",
                         "sent_at": _ts(sent + dt.timedelta(minutes=rng.randrange(2, 300))),
                         "body": rng.choice(("C", "Confirmed, thanks!", "Can I move to the afternoon?\nThanks",
                                             "Running 10 min late, sorry"))})
    for p in patients:
        if p["status"] == "Inactive" and rng.random() < 0.5:
            sent = _at(rng, rand_date(rng, TODAY - dt.timedelta(days=200), TODAY - dt.timedelta(days=1)))
            rows.append({"message_id": f"MSG{len(rows) + 1:08d}", "patient_id": p["patient_id"], "office_id": p["office_id"],
                         "channel": "Email", "direction": "Outbound", "category": rng.choice(("Recall", "Reactivation")),
                         "campaign_id": rng.choice(("CMP-01", "CMP-04")), "sent_at": _ts(sent),
                         "status": rng.choice(("Delivered", "Read", "Opted Out")),
                         "body": "We miss you! It has been a while since your last visit,\nbook your check-up today."})
    return rows


def _forms(rng, people: list[Human], patients: list[dict]) -> list[dict]:
    rows = []
    for h, p in zip(people, patients):
        if not h.first_visit or h.duplicate_of is not None:
            continue
        for form in _FORMS[:rng.choice((1, 2, 3, 5))]:
            answers = {"signature": f"{h.first} {h.last}", "allergies": rng.choice(("none", "penicillin", "latex, \"mild\"")),
                       "medications": rng.choice(("", "lisinopril", "metformin; aspirin"))}
            rows.append({"submission_id": f"FS{len(rows) + 1:07d}", "patient_id": p["patient_id"], "form_name": form,
                         "submitted_at": _ts(_at(rng, h.first_visit)), "status": "Signed" if "Consent" in form else "Completed",
                         "answers_json": json.dumps(answers, ensure_ascii=False)})
    return rows


def _cases(rng, people: list[Human], patients: list[dict], staff: list[dict], truth: Truth, bad: int) -> list[dict]:
    rows = []
    dentists = [s["staff_id"] for s in staff if s["role"] == "Dentist"]
    for h, p in zip(people, patients):
        if not h.first_visit or h.duplicate_of is not None:
            continue
        for _ in range(rng.choices((0, 1, 2), (55, 35, 10))[0]):
            pipeline = rng.choice(tuple(_PIPELINE_CODES))
            stage = weighted(rng, _STAGES)
            codes = rng.sample(_PIPELINE_CODES[pipeline], min(2, len(_PIPELINE_CODES[pipeline])))
            amount = sum(rng.uniform(*PROCEDURES[c][1:3]) for c in codes)
            opened = _at(rng, rand_date(rng, h.first_visit, TODAY))
            closed = _at(rng, rand_date(rng, opened.date(), TODAY)) if stage in ("Completed", "Lost") else None
            rows.append({"case_id": f"CASE{len(rows) + 1:06d}", "patient_id": p["patient_id"], "office_id": p["office_id"],
                         "pipeline": pipeline, "stage": stage, "amount": money(amount), "probability": str(_PROB[stage]),
                         "owner_staff_id": p["assigned_staff_id"] or rng.choice(dentists), "procedure_codes": " ".join(codes),
                         "opened_at": _ts(opened), "closed_at": _ts(closed) if closed else "",
                         "updated_at": _ts(max(opened, closed or opened))})
    for i in sorted(rng.sample(range(len(rows)), min(bad, len(rows)))):
        value = str(rng.choice((110, 150, 1000)))
        truth.plant("probability_out_of_range", "cases.csv", i, "probability", rows[i]["case_id"], value,
                    original=rows[i]["probability"])
        rows[i]["probability"] = value
    return rows


def _properties(rng, people: list[Human], patients: list[dict], insurance: list[dict]) -> list[dict]:
    carrier = {r["patient_id"]: r["carrier_name"] for r in insurance}
    rows = []
    for h, p in zip(people, patients):
        if not h.first_visit:
            continue
        vals = {"lifetime_production": money(rng.uniform(150, 9000)), "production_ytd": money(rng.uniform(0, 2500)),
                "case_acceptance_rate": f"{rng.randrange(0, 101)}", "insurance_carrier": carrier.get(p["patient_id"], ""),
                "last_hygiene_date": (h.last_visit or h.first_visit).isoformat(),
                "membership_plan": rng.choice(("None", "None", "Basic", "Perio Plus"))}
        for key, value in vals.items():
            if value and rng.random() < 0.8:
                rows.append({"value_id": f"PV{len(rows) + 1:08d}", "patient_id": p["patient_id"],
                             "property_key": key, "value": value})
    return rows


def _office_kpis(rng, offices: list[dict]) -> list[dict]:
    rows = []
    for o in offices:
        for back in range(12, 0, -1):
            month = add_months(TODAY.replace(day=1), -back)
            for key, *_rest, applies, _opt in KPI_PROPERTIES:
                if applies != "office":
                    continue
                value = {"production_per_hour": money(rng.uniform(250, 600)), "collections_ytd": money(rng.uniform(4e4, 9e5)),
                         "office_case_acceptance": str(rng.randrange(35, 85)), "new_patients": str(rng.randrange(10, 60)),
                         "hygiene_reappointment": str(rng.randrange(60, 98))}[key]
                rows.append({"kpi_id": f"K{len(rows) + 1:06d}", "office_id": o["office_id"], "property_key": key,
                             "period": f"{month.year:04d}-{month.month:02d}", "value": value})
    return rows


def generate_activity(rng: random.Random, emit: Callable[[str, list[dict]], list[int]], people: list[Human],
                      patients: list[dict], offices: list[dict], staff: list[dict], truth: Truth, *,
                      orphans: int, bad_cdt_rate: float, carrier_rate: float, bad_probability: int) -> None:
    """Write every file that hangs off patients through ``emit(object, rows)``."""
    appts, done = _appointments(rng, people, patients, staff)
    procedures = _procedures(rng, appts, done, truth, bad_cdt_rate)  # before orphans: no cascade
    protected = {p["patient_id"] for h, p in zip(people, patients) if h.duplicate_of is not None or h.extra.get("has_dup")}
    free = [i for i, a in enumerate(appts) if a["patient_id"] not in protected]
    for j, i in enumerate(sorted(rng.sample(free, min(orphans, len(free))))):
        bad = str(200000 + len(patients) + 411 + j)  # a patient deleted in the PMS: never reused
        truth.plant("broken_reference", "appointments.csv", i, "patient_id", appts[i]["appointment_id"], bad,
                    references="patients.patient_id", original=appts[i]["patient_id"])
        appts[i]["patient_id"] = bad
    emit("appointments", appts)
    emit("procedure_log", procedures)
    emit("kpi_properties", [dict(zip(("property_key", "label", "data_type", "applies_to", "options"), k))
                            for k in KPI_PROPERTIES])
    insurance = _insurance(rng, people, patients, truth, carrier_rate)
    emit("patient_properties", _properties(rng, people, patients, insurance))
    emit("office_kpis", _office_kpis(rng, offices))
    emit("insurance", insurance)
    emit("communication_log", _communications(rng, appts, patients))
    emit("form_submissions", _forms(rng, people, patients))
    emit("cases", _cases(rng, people, patients, staff, truth, bad_probability))
