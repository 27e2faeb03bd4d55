"""Everything that hangs off a patient contact in the synthetic Dental-Exec export: case
pipelines, treatment cases (ADA codes, insurance carrier, claim status), appointments, tasks,
clinical notes, lab cases, billing and documents (with their planted defects).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

from .._synth_defects import bad_cdt
from .._synth_dental import CARRIER_VARIANTS, CARRIERS, NOTE_TEMPLATES, PROCEDURES
from .._synth_export import AS_OF, TODAY, Truth, at_least_one, money, rand_date, weighted
from .._synth_households import Human

__all__ = ["generate_activity", "PIPELINES"]

#: pipeline -> (stage, probability) in order
PIPELINES = {p: (("Consultation", 10), ("Treatment Presented", 30), ("Accepted", 60), ("In Treatment", 80),
                 ("Completed", 100), ("Lost", 0)) for p in ("Restorative", "Ortho", "Perio", "Oral Surgery")}
_CODES = {"Restorative": ("D2740", "D2950", "D2330", "D3330", "D6010"), "Ortho": ("D8080",),
          "Perio": ("D4341", "D4910"), "Oral Surgery": ("D7140", "D6010")}
_STAGE_W = {"Consultation": 12, "Treatment Presented": 25, "Accepted": 15, "In Treatment": 13, "Completed": 25, "Lost": 10}
_CLAIM = {"Submitted": 20, "Pending": 20, "Paid": 40, "Denied": 12, "Appeal": 8}
_LABS = ("Keystone Dental Lab", "Precision Ceramics", "Atlantic Prosthetics", "ClearPath Aligners")
_PROSTHESIS = {"D2740": "Crown", "D6010": "Implant Crown", "D8080": "Aligners", "D2950": "Crown"}
_DOCS = {"Treatment Plan": ("pdf", 40), "Insurance Card": ("jpg", 25), "Consent Form": ("pdf", 20),
         "X-Ray": ("jpg", 10), "Referral Letter": ("pdf", 5)}


def _stamp(t: dt.datetime) -> str:
    return min(t, AS_OF).strftime("%m/%d/%Y %H:%M")


def _day(d: dt.date) -> str:
    return d.strftime("%m/%d/%Y")


def _at(rng: random.Random, d: dt.date) -> dt.datetime:
    m = rng.randrange(8 * 60, 18 * 60)
    return dt.datetime(d.year, d.month, d.day, m // 60, m % 60)


def _cases(rng, people: list[Human], contacts: list[dict], users: list[dict], truth: Truth, *,
           bad_ada_rate: float, carrier_rate: float, claim_variants: int) -> list[dict]:
    coordinators = [u["UserID"] for u in users if u["Role"] == "Treatment Coordinator"]
    rows = []
    for h, c in zip(people, contacts):
        if c["LifecycleRole"] != "Patient" or h.duplicate_of is not None:
            continue
        carrier = weighted(rng, CARRIERS) if rng.random() < 0.75 else ""
        for _ in range(rng.choices((0, 1, 2), (50, 38, 12))[0]):
            pipeline = rng.choice(tuple(_CODES))
            codes = rng.sample(_CODES[pipeline], min(len(_CODES[pipeline]), rng.choice((1, 2))))
            stage = weighted(rng, _STAGE_W)
            created = _at(rng, rand_date(rng, h.first_visit or h.created, TODAY))
            claim = weighted(rng, _CLAIM) if carrier and stage in ("In Treatment", "Completed") else ""
            rows.append({"CaseID": f"TC{len(rows) + 1:06d}", "ContactID": c["ContactID"], "PracticeID": c["PracticeID"],
                         "CaseName": f"{pipeline} – {PROCEDURES[codes[0]][0]}", "Pipeline": pipeline, "Stage": stage,
                         "Amount": money(sum(rng.uniform(*PROCEDURES[x][1:3]) for x in codes)),
                         "PrimaryADACode": codes[0], "ADACodes": " ".join(codes), "InsuranceCarrier": carrier,
                         "ClaimStatus": claim,
                         "ClaimStatusDate": _day(rand_date(rng, created.date(), TODAY)) if claim else "",
                         "OwnerUserID": rng.choice(coordinators),
                         "ExpectedClose": _day(created.date() + dt.timedelta(days=rng.randrange(14, 120))),
                         "CreatedOn": _stamp(created), "ModifiedOn": _stamp(_at(rng, rand_date(rng, created.date(), TODAY)))})
    n = len(rows)
    for i in sorted(rng.sample(range(n), min(at_least_one(bad_ada_rate, n), n))):
        bad = bad_cdt(rng, rows[i]["PrimaryADACode"])
        truth.plant("invalid_ada_code", "treatment_cases.csv", i, "PrimaryADACode", rows[i]["CaseID"], bad,
                    original=rows[i]["PrimaryADACode"])
        rows[i]["PrimaryADACode"] = bad
    pool = [i for i, r in enumerate(rows) if r["InsuranceCarrier"] in CARRIER_VARIANTS]
    for i in sorted(rng.sample(pool, min(at_least_one(carrier_rate, n), len(pool)))):
        canon = rows[i]["InsuranceCarrier"]
        rows[i]["InsuranceCarrier"] = rng.choice(CARRIER_VARIANTS[canon])
        truth.plant("carrier_variant", "treatment_cases.csv", i, "InsuranceCarrier", rows[i]["CaseID"],
                    rows[i]["InsuranceCarrier"], canonical=canon)
    claimed = [i for i, r in enumerate(rows) if r["ClaimStatus"]]
    for i in sorted(rng.sample(claimed, min(claim_variants, len(claimed)))):
        bad = rng.choice(("paid", "Denied - resubmit", "PENDING"))
        truth.plant("picklist_variant", "treatment_cases.csv", i, "ClaimStatus", rows[i]["CaseID"], bad,
                    original=rows[i]["ClaimStatus"])
        rows[i]["ClaimStatus"] = bad
    return rows


def _appointments(rng, people, contacts, users) -> list[dict]:
    prov = {"Hygiene": [u["UserID"] for u in users if u["Role"] == "Hygienist"],
            "other": [u["UserID"] for u in users if u["Role"] == "Dentist"]}
    rows = []
    for h, c in zip(people, contacts):
        days = []
        if h.first_visit and h.last_visit:
            days = sorted({h.first_visit, h.last_visit, *(rand_date(rng, h.first_visit, h.last_visit)
                                                          for _ in range(rng.choice((0, 1, 2, 3))))})
        if c["Status"] in ("Active", "Scheduled Prospect") and (rng.random() < 0.4 or c["Status"] != "Active"):
            days.append(rand_date(rng, TODAY + dt.timedelta(days=1), TODAY + dt.timedelta(days=90)))
        for d in days:
            atype = rng.choice(("Hygiene", "Hygiene", "Restorative", "Surgical", "Consultation"))
            start = _at(rng, d).replace(minute=rng.choice((0, 15, 30, 45)))
            status = (rng.choice(("Scheduled", "Confirmed")) if d > TODAY else
                      "Completed" if d == h.last_visit else rng.choice(("Completed",) * 8 + ("Cancelled", "No Show")))
            rows.append({"AppointmentID": f"AP{len(rows) + 1:07d}", "ContactID": c["ContactID"], "PracticeID": c["PracticeID"],
                         "ProviderUserID": rng.choice(prov["Hygiene" if atype == "Hygiene" else "other"]),
                         "AppointmentType": atype, "StartTime": start.strftime("%m/%d/%Y %H:%M"),
                         "EndTime": (start + dt.timedelta(minutes=rng.choice((30, 60, 90)))).strftime("%m/%d/%Y %H:%M"),
                         "Status": status, "Notes": rng.choice(("", "", "", "Pre-med required", "Bring x-rays, insurance card"))})
    return rows


def _tasks(rng, appts, cases, contacts, users, truth: Truth, orphans: int) -> list[dict]:
    owners = [u["UserID"] for u in users if u["Role"] in ("Front Office", "Treatment Coordinator")]
    rows = []

    def add(contact, case, subject, ttype, due: dt.date):
        done = due <= TODAY and rng.random() < 0.7
        rows.append({"TaskID": f"TK{len(rows) + 1:07d}", "ContactID": contact, "CaseID": case, "Subject": subject,
                     "TaskType": ttype, "DueDate": _day(due), "Status": "Completed" if done else rng.choice(("Open", "Open", "Deferred")),
                     "OwnerUserID": rng.choice(owners), "CompletedOn": _stamp(_at(rng, due)) if done else ""})

    for a in appts:
        start = dt.datetime.strptime(a["StartTime"], "%m/%d/%Y %H:%M").date()
        if rng.random() < 0.35:
            add(a["ContactID"], "", "Verify insurance before visit", "Insurance Verification", start - dt.timedelta(days=3))
        if a["AppointmentType"] == "Hygiene" and a["Status"] == "Completed" and rng.random() < 0.5:
            add(a["ContactID"], "", "Recall: book 6-month hygiene", "Recall", start + dt.timedelta(days=170))
    for c in cases:
        if c["Stage"] == "Treatment Presented":
            add(c["ContactID"], c["CaseID"], "Follow up on presented treatment", "Call Back",
                dt.datetime.strptime(c["CreatedOn"], "%m/%d/%Y %H:%M").date() + dt.timedelta(days=7))
    known = len(contacts)
    for j, i in enumerate(sorted(rng.sample(range(len(rows)), min(orphans, len(rows))))):
        bad = f"C{known + 900 + j:06d}"  # a contact deleted since: never reused
        truth.plant("broken_reference", "tasks.csv", i, "ContactID", rows[i]["TaskID"], bad,
                    references="contacts.ContactID", original=rows[i]["ContactID"])
        rows[i]["ContactID"] = bad
    return rows


def _notes(rng, cases, users) -> list[dict]:
    authors = [u["UserID"] for u in users if u["Role"] in ("Dentist", "Hygienist")]
    rows = []
    for c in cases:
        for _ in range(rng.choice((0, 1, 1, 2))):
            code = c["ADACodes"].split()[0]
            body = NOTE_TEMPLATES[rng.randrange(len(NOTE_TEMPLATES))].format(
                label=PROCEDURES[code][0].lower() if code in PROCEDURES else "treatment", tooth=rng.randrange(1, 33))
            created = dt.datetime.strptime(c["CreatedOn"], "%m/%d/%Y %H:%M") + dt.timedelta(days=rng.randrange(0, 30))
            rows.append({"NoteID": f"N{len(rows) + 1:07d}", "ContactID": c["ContactID"], "CaseID": c["CaseID"],
                         "AuthorUserID": rng.choice(authors), "NoteType": rng.choice(("Clinical", "Clinical", "Administrative")),
                         "CreatedOn": _stamp(created), "Body": body[0].upper() + body[1:]})
    return rows


def _labs(rng, cases) -> list[dict]:
    rows = []
    for c in cases:
        code = c["ADACodes"].split()[0]
        if code not in _PROSTHESIS or c["Stage"] not in ("In Treatment", "Completed"):
            continue
        sent = dt.datetime.strptime(c["CreatedOn"], "%m/%d/%Y %H:%M").date() + dt.timedelta(days=rng.randrange(3, 20))
        sent = min(sent, TODAY)
        due = sent + dt.timedelta(days=rng.randrange(7, 21))
        got = due - dt.timedelta(days=rng.randrange(0, 4)) if due <= TODAY else None
        rows.append({"LabCaseID": f"LC{len(rows) + 1:06d}", "ContactID": c["ContactID"], "CaseID": c["CaseID"],
                     "LabName": rng.choice(_LABS), "Prosthesis": _PROSTHESIS[code], "SentDate": _day(sent), "DueDate": _day(due),
                     "ReceivedDate": _day(got) if got else "",
                     "Status": ("Seated" if c["Stage"] == "Completed" else "Received") if got else rng.choice(("Sent", "In Progress"))})
    return rows


def _billing(rng, cases) -> list[dict]:
    rows = []
    for c in cases:
        if c["Stage"] not in ("In Treatment", "Completed"):
            continue
        d = dt.datetime.strptime(c["CreatedOn"], "%m/%d/%Y %H:%M").date()
        amount = float(c["Amount"])
        rows.append({"BillingID": f"B{len(rows) + 1:07d}", "ContactID": c["ContactID"], "CaseID": c["CaseID"],
                     "EntryDate": _day(d), "EntryType": "Charge", "Amount": money(amount), "PaymentMethod": ""})
        if c["ClaimStatus"] == "Paid":
            rows.append({**rows[-1], "BillingID": f"B{len(rows) + 1:07d}", "EntryType": "Insurance Payment",
                         "Amount": money(-amount * rng.uniform(0.4, 0.8)), "PaymentMethod": "Insurance",
                         "EntryDate": _day(min(d + dt.timedelta(days=rng.randrange(10, 40)), TODAY))})
        if rng.random() < 0.6:
            rows.append({**rows[-1], "BillingID": f"B{len(rows) + 1:07d}", "EntryType": "Payment",
                         "Amount": money(-amount * rng.uniform(0.1, 0.5)), "PaymentMethod": rng.choice(("Card", "Cash", "Check", "Financing")),
                         "EntryDate": _day(min(d + dt.timedelta(days=rng.randrange(0, 20)), TODAY))})
    return rows


def _documents(rng, out: Path, contacts, cases, users, truth: Truth, oversized: int) -> list[dict]:
    folder = out / "documents"
    folder.mkdir(exist_ok=True)
    case_of = {}
    for c in cases:
        case_of.setdefault(c["ContactID"], c["CaseID"])
    uploaders = [u["UserID"] for u in users if u["Role"] in ("Front Office", "Treatment Coordinator")]
    rows = []
    for c in contacts:
        if rng.random() >= 0.3:
            continue
        cat = weighted(rng, {k: v[1] for k, v in _DOCS.items()})
        ext = _DOCS[cat][0]
        name = f"{c['ContactID']}_{cat.lower().replace(' ', '_').replace('-', '')}_{len(rows) + 1}.{ext}"
        data = (b"%PDF-1.4\n" if ext == "pdf" else b"\xff\xd8\xff\xe0") + rng.randbytes(rng.randrange(500, 3000))
        (folder / name).write_bytes(data)
        rows.append({"DocumentID": f"D{len(rows) + 1:07d}", "ContactID": c["ContactID"], "CaseID": case_of.get(c["ContactID"], ""),
                     "FileName": name, "Category": cat, "SizeBytes": str(len(data)),
                     "UploadedOn": _stamp(_at(rng, rand_date(rng, TODAY - dt.timedelta(days=700), TODAY))),
                     "UploadedBy": rng.choice(uploaders)})
    for i in sorted(rng.sample(range(len(rows)), min(oversized, len(rows)))):
        declared = str(rng.randrange(27_000_000, 60_000_000))
        truth.plant("oversized_document", "documents.csv", i, "SizeBytes", rows[i]["DocumentID"], declared,
                    file_name=rows[i]["FileName"], limit_bytes=25 * 1024 * 1024)
        rows[i]["SizeBytes"] = declared
    return rows


def generate_activity(rng: random.Random, out: Path, emit: Callable[[str, list[dict]], list[int]], people: list[Human],
                      contacts: list[dict], users: list[dict], truth: Truth, *, bad_ada_rate: float,
                      carrier_rate: float, claim_variants: int, orphan_tasks: int, oversized: int) -> None:
    """Write every file that hangs off patient contacts through ``emit(object, rows)``."""
    emit("case_pipelines", [{"StageID": f"{p[:3].upper()}-{k + 1}", "Pipeline": p, "Stage": s, "StageOrder": str(k + 1),
                             "Probability": str(prob)} for p, stages in PIPELINES.items() for k, (s, prob) in enumerate(stages)])
    cases = _cases(rng, people, contacts, users, truth, bad_ada_rate=bad_ada_rate, carrier_rate=carrier_rate,
                   claim_variants=claim_variants)
    emit("treatment_cases", cases)
    appts = _appointments(rng, people, contacts, users)
    emit("appointments", appts)
    emit("tasks", _tasks(rng, appts, cases, contacts, users, truth, orphan_tasks))
    emit("clinical_notes", _notes(rng, cases, users))
    emit("lab_cases", _labs(rng, cases))
    emit("billing", _billing(rng, cases))
    emit("documents", _documents(rng, out, contacts, cases, users, truth, oversized))
