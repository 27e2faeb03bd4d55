"""Everything that hangs off a patient in the synthetic export: appointments, treatment plans,
insurance, claims, ledger, recalls, clinical notes and documents (with their planted defects).

Called by :func:`toolkit.sources.dent_o_soft.generator.generate` after patients are written; it
only sees the small :class:`~._common.Person` summaries so big runs stay within memory.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from ._catalog import APPOINTMENT_NOTES, CARRIER_VARIANTS, CARRIERS, HYGIENE_CODES, \
    NOTE_TEMPLATES, PROCEDURES, TOOTH_CODES
from .._synth_export import TODAY, Person, Truth, add_months, fmt_date, fmt_dt, money, rand_date, rand_dt, \
    weighted, write_csv

__all__ = ["generate_activity"]

_CODE_WEIGHTS = {c: v[3] for c, v in PROCEDURES.items()}
_PLAN_WEIGHTS = {c: (v[3] if c not in HYGIENE_CODES and not c.startswith("D0") else 0) + 0.01
                 for c, v in PROCEDURES.items()}
_DURATION = {"D2740": 90, "D3330": 90, "D6010": 120, "D5110": 60, "D4341": 90, "D8080": 45}
_PAST = {"Completed": 80, "Cancelled": 8, "Broken": 5, "No Show": 7}
_PLAN_STATUS = {"Proposed": 30, "Accepted": 20, "In Progress": 10, "Completed": 30, "Declined": 10}
_ELIG = {"Eligible": 75, "Ineligible": 8, "Pending": 7, "Unknown": 10}
_CLAIM = {"Paid": 55, "Accepted": 15, "Pending": 15, "Denied": 15}
_RECALL = {"6-Month Hygiene": 70, "Annual Exam": 15, "Perio Maintenance": 15}
_RECALL_MONTHS = {"6-Month Hygiene": 6, "Annual Exam": 12, "Perio Maintenance": 3}
_DOC_CATS = {"Consent Form": 30, "Insurance Card": 25, "X-Ray": 25, "Photo": 10, "Other": 10}
_DOC_EXT = {"Consent Form": ("pdf", b"%PDF-1.4\n"), "Insurance Card": ("jpg", b"\xff\xd8\xff\xe0"),
            "X-Ray": ("jpg", b"\xff\xd8\xff\xe0"), "Photo": ("jpg", b"\xff\xd8\xff\xe0"),
            "Other": ("pdf", b"%PDF-1.4\n")}


def _fee(rng: random.Random, code: str) -> float:
    lo, hi = PROCEDURES[code][1:3]
    return round(rng.uniform(lo, hi) / 5) * 5.0


def _appointments(rng, people: list[Person]):
    rows, completed = [], []
    for pi, p in enumerate(people):
        dates: list[tuple[dt.date, bool]] = []
        if p.first_visit and p.last_visit:
            n = {"Active": rng.choices((1, 2, 3, 4, 5, 6), (10, 20, 25, 20, 15, 10))[0],
                 "Deceased": rng.choice((1, 2))}.get(p.status, rng.choice((1, 2, 3)))
            dates.append((p.last_visit, True))
            if n >= 2:
                dates.append((p.first_visit, False))
            dates += [(rand_date(rng, p.first_visit, p.last_visit), False) for _ in range(n - 2)]
            dates.sort()
        if p.status in ("Active", "Prospective") and rng.random() < 0.45:
            dates.append((rand_date(rng, TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=180)), False))
        for day, is_last in dates:
            code = weighted(rng, _CODE_WEIGHTS)
            prov = p.hygienist if code in HYGIENE_CODES else p.dentist
            if day > TODAY:
                status = "Confirmed" if rng.random() < 0.4 else "Scheduled"
            else:
                status = "Completed" if is_last else weighted(rng, _PAST)
            fee = _fee(rng, code)
            start = rng.randrange(7 * 4, 17 * 4) * 15
            created = rand_dt(rng, min(day - dt.timedelta(days=rng.randrange(1, 60)), TODAY))
            modified = (rand_dt(rng, day, 12, 19) if day <= TODAY
                        else rand_dt(rng, rand_date(rng, created.date(), TODAY)))
            modified = max(modified, created)
            rows.append({
                "AppointmentID": f"A{len(rows) + 1:07d}", "PatientID": p.pid, "ProviderID": prov,
                "Operatory": f"OP{rng.randrange(4, 7) if code in HYGIENE_CODES else rng.randrange(1, 4)}",
                "AptDate": fmt_date(day), "AptTime": f"{start // 60:02d}:{start % 60:02d}",
                "DurationMin": str(_DURATION.get(code, 60 if code in HYGIENE_CODES else 30)),
                "ProcedureCode": code, "Status": status, "Fee": money(fee),
                "Note": rng.choice(APPOINTMENT_NOTES), "CreatedDate": fmt_dt(created),
                "ModifiedDate": fmt_dt(modified),
            })
            if status == "Completed":
                completed.append((pi, day, code, fee, prov))
    return rows, completed


def _plans(rng, people: list[Person]):
    rows = []
    for p in people:
        if not p.first_visit:
            continue
        for _ in range(rng.choices((0, 1, 2, 3), (35, 40, 18, 7))[0]):
            code = weighted(rng, _PLAN_WEIGHTS)
            status = weighted(rng, _PLAN_STATUS)
            start = rand_date(rng, p.first_visit, TODAY + dt.timedelta(days=60 if status == "Proposed" else 0))
            end = (rand_date(rng, start, min(start + dt.timedelta(days=90), TODAY))
                   if status in ("Completed", "Declined") and start <= TODAY else None)
            created = rand_dt(rng, min(start, TODAY))
            modified = max(created, rand_dt(rng, rand_date(rng, created.date(), TODAY)))
            rows.append({
                "PlanID": f"TP{len(rows) + 1:07d}", "PatientID": p.pid, "ProviderID": p.dentist,
                "ProcedureCode": code, "Description": PROCEDURES[code][0],
                "Tooth": str(rng.randrange(1, 33)) if code in TOOTH_CODES else "",
                "EstimatedFee": money(_fee(rng, code)), "Status": status,
                "StartDate": fmt_date(start), "EndDate": fmt_date(end) if end else "",
                "CreatedDate": fmt_dt(created), "ModifiedDate": fmt_dt(modified),
            })
    return rows


def _insurance(rng, people: list[Person], truth: Truth, variant_rate: float):
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(people):
        groups.setdefault(p.guarantor, []).append(i)
    rows, hh_of_row = [], []
    births = {p.pid: p.birth for p in people}
    for g, members in groups.items():
        if rng.random() >= 0.8:
            continue
        plans = [("Primary", weighted(rng, CARRIERS))]
        if rng.random() < 0.15:
            plans.append(("Secondary", weighted(rng, CARRIERS)))
        for priority, carrier in plans:
            group_no = f"{rng.randrange(10**7):07d}"
            sub_id = f"{''.join(rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(3))}{rng.randrange(10**9):09d}"
            for i in members:
                p = people[i]
                rel = ("Self" if p.pid == g else
                       "Spouse" if abs((p.birth - births[g]).days) < 10 * 365
                       and (TODAY - p.birth).days > 19 * 365 else "Child")
                status = weighted(rng, _ELIG)
                rows.append({
                    "InsuranceID": f"I{len(rows) + 1:07d}", "PatientID": p.pid, "Carrier": carrier,
                    "GroupNumber": group_no, "SubscriberID": sub_id, "Relationship": rel,
                    "Priority": priority, "EligibilityStatus": status,
                    "EligibilityDate": "" if status == "Unknown" else fmt_date(
                        rand_date(rng, TODAY - dt.timedelta(days=365), TODAY)),
                })
                hh_of_row.append(g)
    # Both "United" carriers must be present in canonical form (a fuzzy matcher must keep them
    # apart); force them onto two different subscriber groups if chance did not.
    forced: set[int] = set()
    for name in ("UnitedHealthcare Dental", "United Concordia"):
        have = [i for i, r in enumerate(rows) if r["Carrier"] == name]
        if not have:
            taken = {hh_of_row[i] for i in forced}
            cands = [i for i in range(len(rows)) if hh_of_row[i] not in taken]
            g = hh_of_row[cands[rng.randrange(len(cands))]]
            have = [i for i in range(len(rows)) if hh_of_row[i] == g and rows[i]["Priority"] == "Primary"]
            for i in have:
                rows[i]["Carrier"] = name
        forced.update(have)
    pool = [i for i, r in enumerate(rows) if r["Carrier"] in CARRIER_VARIANTS and i not in forced]
    k = min(max(1, round(variant_rate * len(rows))), len(pool))
    for i in sorted(rng.sample(pool, k)):
        canon = rows[i]["Carrier"]
        variants = CARRIER_VARIANTS[canon]
        rows[i]["Carrier"] = variants[rng.randrange(len(variants))]
        truth.plant("carrier_variant", "insurance.csv", i, "Carrier", rows[i]["InsuranceID"],
                    rows[i]["Carrier"], canonical=canon)
    return rows


def _claims(rng, ins_rows: list[dict], pindex: dict[str, int], people: list[Person], truth: Truth,
            broken: int):
    rows = []
    for r in ins_rows:
        if r["Priority"] != "Primary":
            continue
        p = people[pindex[r["PatientID"]]]
        if not p.first_visit:
            continue
        for _ in range(rng.choices((0, 1, 2, 3), (35, 35, 20, 10))[0]):
            billed = rng.uniform(80, 2500)
            status = weighted(rng, _CLAIM)
            paid = billed * rng.uniform(0.4, 1.0) if status == "Paid" else 0.0
            rows.append({
                "ClaimID": f"C{len(rows) + 1:07d}", "PatientID": r["PatientID"],
                "InsuranceID": r["InsuranceID"], "Carrier": r["Carrier"],
                "SubmittedDate": fmt_date(rand_date(rng, max(p.first_visit, TODAY - dt.timedelta(days=3 * 365)), TODAY)),
                "BilledAmount": money(billed), "PaidAmount": money(paid), "Status": status,
            })
    free = [i for i, c in enumerate(rows) if not people[pindex[c["PatientID"]]].protected]
    for j, i in enumerate(sorted(rng.sample(free, min(broken, len(free))))):
        bad = f"I{len(ins_rows) + 501 + j:07d}"
        truth.plant("broken_reference", "claims.csv", i, "InsuranceID", rows[i]["ClaimID"], bad,
                    references="insurance.InsuranceID", original=rows[i]["InsuranceID"])
        rows[i]["InsuranceID"] = bad
    return rows


def _ledger(rng, people: list[Person], completed, claims, pindex):
    per: dict[int, list[tuple]] = {}
    for pi, day, code, fee, _prov in completed:
        per.setdefault(pi, []).append((day, 0, "Charge", fee, PROCEDURES[code][0], code))
        if rng.random() < 0.65:
            pay = -round(fee * rng.choice((1.0, 0.5, 0.2)), 2)
            per[pi].append((min(day + dt.timedelta(days=rng.randrange(0, 20)), TODAY), 1, "Payment",
                            pay, rng.choice(("Patient payment - Visa", "Patient payment - Cash",
                                             "Patient payment - Check", "Patient payment - CareCredit")), ""))
        if rng.random() < 0.06:
            per[pi].append((day, 2, "Adjustment", -round(fee * 0.1, 2), "Courtesy discount", ""))
    for c in claims:
        if c["Status"] == "Paid":
            pi = pindex[c["PatientID"]]
            sub = dt.datetime.strptime(c["SubmittedDate"], "%m/%d/%Y").date()
            per.setdefault(pi, []).append((min(sub + dt.timedelta(days=rng.randrange(10, 45)), TODAY), 3,
                                           "Insurance Payment", -float(c["PaidAmount"]),
                                           f"Insurance payment - {c['Carrier']}", ""))
    rows = []
    for pi in sorted(per):
        for day, _o, etype, amount, desc, code in sorted(per[pi], key=lambda e: (e[0], e[1])):
            rows.append({"EntryID": f"L{len(rows) + 1:08d}", "PatientID": people[pi].pid,
                         "EntryDate": fmt_date(day), "EntryType": etype, "Amount": money(amount),
                         "Description": desc, "ProcedureCode": code})
    return rows


def _recalls(rng, people: list[Person]):
    rows = []
    for p in people:
        if not p.last_visit or p.status == "Deceased" or rng.random() < 0.12:
            continue
        rtype = weighted(rng, _RECALL)
        due = add_months(p.last_visit, _RECALL_MONTHS[rtype])
        if due > TODAY:
            status = "Scheduled" if rng.random() < 0.4 else "Due"
        elif due > TODAY - dt.timedelta(days=30):
            status = "Due"
        else:
            status = "Missed" if rng.random() < 0.8 else "Completed"
        rows.append({"RecallID": f"R{len(rows) + 1:07d}", "PatientID": p.pid, "RecallType": rtype,
                     "IntervalMonths": str(_RECALL_MONTHS[rtype]), "DueDate": fmt_date(due),
                     "Status": status})
    return rows


def _notes(rng, people: list[Person], completed):
    rows = []
    for pi, day, code, _fee, prov in completed:
        if rng.random() >= 0.42:
            continue
        tooth = str(rng.randrange(1, 33)) if code in TOOTH_CODES else ""
        text = NOTE_TEMPLATES[rng.randrange(len(NOTE_TEMPLATES))].format(
            label=PROCEDURES[code][0].lower(), tooth=tooth or str(rng.randrange(1, 33)))
        text = text[0].upper() + text[1:]
        rows.append({"NoteID": f"N{len(rows) + 1:07d}", "PatientID": people[pi].pid,
                     "ProviderID": prov, "NoteDate": fmt_date(day), "ProcedureCode": code,
                     "Tooth": tooth, "NoteText": text})
    return rows


def _documents(rng, out: Path, people: list[Person], truth: Truth, threshold: int):
    docs_dir = out / "documents"
    docs_dir.mkdir(exist_ok=True)
    rows = []
    for p in people:
        n = rng.choices((0, 1, 2), (57, 35, 8))[0] or (1 if not rows and p is people[-1] else 0)
        for _ in range(n):
            cat = weighted(rng, _DOC_CATS)
            ext, magic = _DOC_EXT[cat]
            doc_id = f"DOC{len(rows) + 1:07d}"
            name = f"{doc_id}_{cat.lower().replace(' ', '_').replace('-', '')}.{ext}"
            data = magic + rng.randbytes(rng.randrange(600, 4000))
            (docs_dir / name).write_bytes(data)
            created = rand_dt(rng, rand_date(rng, p.first_visit or TODAY - dt.timedelta(days=30), TODAY))
            rows.append({"DocumentID": doc_id, "PatientID": p.pid, "FileName": name,
                         "Category": cat, "SizeBytes": str(len(data)), "CreatedDate": fmt_dt(created)})
    oversized = []
    for i in sorted(rng.sample(range(len(rows)), min(2 if len(rows) >= 20 else 1, len(rows)))):
        declared = rng.randrange(threshold + 1_000_000, threshold + 40_000_000)
        oversized.append({"id": rows[i]["DocumentID"], "file_name": rows[i]["FileName"],
                          "declared_size": declared, "actual_size": int(rows[i]["SizeBytes"]),
                          "_index": i})
        rows[i]["SizeBytes"] = str(declared)
        truth.plant("oversized_document", "documents.csv", i, "SizeBytes", rows[i]["DocumentID"],
                    str(declared), file_name=rows[i]["FileName"], limit_bytes=threshold)
    return rows, oversized


def generate_activity(rng: random.Random, out: Path, cols: dict, people: list[Person],
                      providers: list[dict], truth: Truth, *, variant_rate: float,
                      broken_appointments: int, broken_claims: int,
                      oversize_threshold: int) -> dict:
    """Write every file that hangs off patients; returns ``{"oversized": [...]}`` for the
    ground truth (rows resolved)."""
    pindex = {p.pid: i for i, p in enumerate(people)}

    def emit(obj: str, rows: list[dict]) -> list[int]:
        file = f"{obj}.csv"
        lines = write_csv(out / file, cols[obj], rows)
        truth.resolve(file, lines)
        truth.counts[file] = len(rows)
        return lines

    appts, completed = _appointments(rng, people)
    free = [i for i, a in enumerate(appts) if not people[pindex[a["PatientID"]]].protected]
    for j, i in enumerate(sorted(rng.sample(free, min(broken_appointments, len(free))))):
        bad = f"P{len(people) + 347 + j:06d}"  # a patient since deleted: the id is never reused
        truth.plant("broken_reference", "appointments.csv", i, "PatientID",
                    appts[i]["AppointmentID"], bad, references="patients.PatientID",
                    original=appts[i]["PatientID"])
        appts[i]["PatientID"] = bad
    emit("appointments", appts)
    del appts
    emit("treatment_plans", _plans(rng, people))
    ins = _insurance(rng, people, truth, variant_rate)
    emit("insurance", ins)
    claims = _claims(rng, ins, pindex, people, truth, broken_claims)
    emit("claims", claims)
    del ins
    emit("ledger", _ledger(rng, people, completed, claims, pindex))
    emit("recalls", _recalls(rng, people))
    emit("clinical_notes", _notes(rng, people, completed))
    docs, oversized = _documents(rng, out, people, truth, oversize_threshold)
    lines = emit("documents", docs)
    for o in oversized:
        o["row"] = lines[o.pop("_index")]
    return {"oversized": oversized}
