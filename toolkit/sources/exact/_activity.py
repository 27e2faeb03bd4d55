"""The generator's second half: deals, activities, documents and the practice's definitions.

Opportunities are treatment plans (and corporate-plan deals) moving through the practice's own
stage list; tasks, events (meetings) and communication notes (calls, emails, notes) carry their
original timestamps and the user who owns them; documents carry attachments; free-field labels,
workflows, reminders, recall rules and email templates are the definitions a rebuild needs.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid

from ._odata import to_odata_date

__all__ = ["generate", "STAGES", "UNMAPPED_STAGE_RATE", "OVERSIZE_BYTES", "FREE_FIELDS"]

UNMAPPED_STAGE_RATE = 0.03
OVERSIZE_BYTES = 25 * 1024 * 1024
#: the practice's opportunity stages: (description, default probability, OpportunityStatus)
#: status 1 = open, 2 = closed won, 3 = closed lost (exact.md §5)
STAGES = (("Enquiry", 0.1, 1), ("Consultation Booked", 0.25, 1), ("Treatment Plan Sent", 0.5, 1),
          ("Accepted", 0.8, 1), ("In Treatment", 0.9, 1), ("Completed", 1.0, 2), ("Lost", 0.0, 3))
LATE_STAGE = ("Awaiting Finance", 0.6, 1)  # added by the practice later; no mapping knows it
TREATMENTS = (("Invisalign", 3200, 4800), ("Dental implant", 2200, 3200), ("Composite bonding", 900, 1600),
              ("Teeth whitening", 300, 450), ("Porcelain veneers", 3000, 5200), ("Crown", 550, 800))
LEAD_SOURCES = ("Website", "Referral", "Google Ads", "Existing patient", "Walk-in", "Facebook")
TASK_TYPES = ((1, "Call", "Call back about the treatment plan"), (4, "Correspondence", "Send recall letter"),
              (5, "Appointment", "Book hygiene appointment"), (0, "Other", "Chase lab work"))
EVENT_SUBJECTS = ("New patient consultation", "Invisalign scan", "Implant review", "Hygiene appointment",
                  "Whitening fit")
NOTE_KINDS = (("Call", "Phoned patient"), ("Email", "Emailed patient"), ("Note", "Note"))
DOC_TYPES = ((10, "Treatment plan"), (20, "Consent form"), (30, "Referral letter"), (40, "Lab prescription"))
#: free-field labels the practice set on contacts (research note: Exact entities carry
#: FreeText/Date/Number/Bool fields; their labels live in the division's settings)
FREE_FIELDS = (("Contacts", "FreeTextField_01", "Referring dentist", "text"),
               ("Contacts", "FreeTextField_02", "Next recall (dd/mm/yyyy)", "text"),
               ("Contacts", "FreeTextField_03", "Payment plan", "text"),
               ("Contacts", "FreeDateField_01", "Last recall", "date"),
               ("Contacts", "FreeNumberField_01", "Recall interval (months)", "number"),
               ("Contacts", "FreeBoolField_01", "SMS reminders consent", "boolean"))


def stage_id(name: str) -> str:
    """A stable GUID per stage description (stages are a per-division list of GUIDs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"exact-sandbox/stage/{name}"))


def _k(rate: float, n: int) -> int:
    return max(1, round(rate * n)) if n else 0


def _when(rng: random.Random, lo: dt.datetime, as_of: dt.datetime) -> dt.datetime:
    """A moment in surgery hours (08:00-18:00) on a day between ``lo`` and the export."""
    days = max(0, (as_of.date() - lo.date()).days)
    day = lo.date() + dt.timedelta(days=rng.randrange(days + 1))
    minute = rng.randrange(8 * 60, 18 * 60)
    t = dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60)
    return min(max(t, lo.replace(second=0, microsecond=0)), as_of)


def _created(rec: dict) -> dt.datetime:
    ms = int(rec["Created"][6:-2])
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=ms)


def _opportunities(rng, ids, truth, users, accounts, contacts, region, as_of) -> list[dict]:
    owners = [u for u in users if u["JobTitle"] in ("Dentist", "Treatment Coordinator")]
    acc_by_id = {a["ID"]: a for a in accounts}
    people = [c for c in contacts if c["Title"] and c["JobTitleDescription"] is None]
    rows = []
    for c in people:
        if rng.random() >= 0.45:
            continue
        name, lo, hi = rng.choice(TREATMENTS)
        stage = rng.choices(STAGES, weights=(10, 18, 22, 12, 10, 18, 10))[0]
        created = _when(rng, _created(c), as_of)
        owner = rng.choice(owners)
        title = f"{name} - {c['FirstName'].strip()} {c['LastName'] or ''}".strip()
        rows.append(_opp(ids, title, acc_by_id[c["Account"]],
                         c, round(rng.uniform(lo, hi), -1), region.currency, stage, owner, created,
                         rng.choice(LEAD_SOURCES), _when(rng, created, as_of), as_of))
    for a in accounts:
        if a["Status"] in ("P", "S") and a["Parent"] is not None:  # corporate plan deals with employers
            contact = next((c for c in contacts if c["ID"] == a["MainContact"]), None)
            stage = rng.choice(STAGES[:4])
            created = _when(rng, _created(a), as_of)
            rows.append(_opp(ids, f"Corporate dental plan - {a['Name']}", a, contact,
                             round(rng.uniform(5000, 20000), -2), region.currency, stage, owners[0], created,
                             "Referral", _when(rng, created, as_of), as_of))
    opens = [r for r in rows if r["OpportunityStatus"] == 1]
    for r in rng.sample(opens, min(len(opens), _k(UNMAPPED_STAGE_RATE, len(rows)))):
        r["OpportunityStage"], r["OpportunityStageDescription"] = stage_id(LATE_STAGE[0]), LATE_STAGE[0]
        r["Probability"] = LATE_STAGE[1]
        truth.plant("unmapped_stage", "Opportunities", r["ID"], "OpportunityStageDescription", LATE_STAGE[0])
    rest = [r for r in rows if r["OpportunityStageDescription"] != LATE_STAGE[0]]
    lone, pct = rest[-1], rest[0]
    truth.plant("opportunity_without_contact", "Opportunities", lone["ID"], "Contact", lone["Contact"])
    lone["Contact"], lone["ContactFullName"] = None, None
    pct["Probability"] = round(pct["Probability"] * 100, 0) or 50.0
    truth.plant("probability_out_of_range", "Opportunities", pct["ID"], "Probability", pct["Probability"])
    return rows


def _opp(ids, name, account, contact, amount, currency, stage, owner, created, source, modified, as_of) -> dict:
    desc, prob, status = stage
    close = (modified + dt.timedelta(days=30)).date() if status == 1 else modified.date()
    return {"ID": ids(), "Name": name, "Account": account["ID"], "AccountName": account["Name"],
            "Contact": contact["ID"] if contact else None,
            "ContactFullName": contact["FullName"] if contact else None, "AmountDC": float(amount),
            "Currency": currency, "CloseDate": to_odata_date(close), "OpportunityStage": stage_id(desc),
            "OpportunityStageDescription": desc, "OpportunityStatus": status, "Probability": prob,
            "Owner": owner["UserID"], "OwnerFullName": owner["FullName"], "LeadSourceDescription": source,
            "Notes": None, "Created": to_odata_date(created), "Modified": to_odata_date(max(created, modified))}


def _activities(rng, ids, users, contacts, opps, as_of) -> tuple[list[dict], list[dict], list[dict]]:
    staff = [u for u in users if u["EndDate"] is None] + [users[1]]  # the leaver owns old activity
    opp_by_contact = {o["Contact"]: o for o in opps if o["Contact"]}
    tasks, events, notes = [], [], []
    for c in contacts:
        opp = opp_by_contact.get(c["ID"])
        for _ in range(rng.choice((0, 1, 1, 2))):
            code, desc, text = rng.choice(TASK_TYPES)
            created = _when(rng, _created(c), as_of)
            user = rng.choice(staff)
            done = rng.random() < 0.6
            tasks.append({"ID": ids(), "Account": c["Account"], "Contact": c["ID"],
                          "Opportunity": opp["ID"] if opp and rng.random() < 0.5 else None,
                          "TaskType": code, "TaskTypeDescription": desc, "Description": text,
                          "Notes": None, "Status": 40 if done else 20,
                          "ActionDate": to_odata_date((created + dt.timedelta(days=rng.randrange(1, 21))).date()),
                          "User": user["UserID"], "UserFullName": user["FullName"],
                          "Created": to_odata_date(created), "Creator": user["UserID"],
                          "Modified": to_odata_date(_when(rng, created, as_of) if done else created)})
        if rng.random() < 0.5:
            start = _when(rng, _created(c), as_of)
            user = rng.choice(staff)
            events.append({"ID": ids(), "Subject": rng.choice(EVENT_SUBJECTS), "StartDate": to_odata_date(start),
                           "EndDate": to_odata_date(start + dt.timedelta(minutes=rng.choice((20, 30, 45, 60)))),
                           "Location": f"Surgery {rng.randrange(1, 4)}", "Account": c["Account"], "Contact": c["ID"],
                           "Opportunity": opp["ID"] if opp else None, "User": user["UserID"],
                           "UserFullName": user["FullName"], "Notes": None, "Created": to_odata_date(start),
                           "Modified": to_odata_date(start)})
        for _ in range(rng.choice((0, 1, 1, 2))):
            kind, verb = rng.choice(NOTE_KINDS)
            at = _when(rng, _created(c), as_of)
            user = rng.choice(staff)
            follow = (at + dt.timedelta(days=rng.randrange(3, 30))).strftime("%d/%m/%Y")
            notes.append({"ID": ids(), "Type": kind, "Subject": f"{verb}: {c['FirstName'].strip()}",
                          "Notes": f"{verb} about appointment; follow up on {follow}.", "Account": c["Account"],
                          "Contact": c["ID"], "Opportunity": opp["ID"] if opp and rng.random() < 0.3 else None,
                          "Created": to_odata_date(at), "Creator": user["UserID"],
                          "CreatorFullName": user["FullName"], "Modified": to_odata_date(at)})
    return tasks, events, notes


def _documents(rng, ids, truth, users, contacts, opps, as_of) -> tuple[list[dict], list[dict]]:
    opp_by_contact = {o["Contact"]: o for o in opps if o["Contact"]}
    docs, files = [], []
    for c in contacts:
        if rng.random() >= 0.3:
            continue
        code, desc = rng.choice(DOC_TYPES)
        at = _when(rng, _created(c), as_of)
        user = rng.choice(users)
        opp = opp_by_contact.get(c["ID"]) if code == 10 else None
        doc = {"ID": ids(), "Subject": f"{desc} - {c['FullName']}", "Type": code, "TypeDescription": desc,
               "Account": c["Account"], "Contact": c["ID"], "Opportunity": opp["ID"] if opp else None,
               "DocumentDate": to_odata_date(at.date()), "Creator": user["UserID"], "Created": to_odata_date(at),
               "Modified": to_odata_date(at)}
        docs.append(doc)
        for n in range(rng.choice((1, 1, 2))):
            fid = ids()
            ext = "pdf" if code != 40 else "jpg"
            files.append({"ID": fid, "Document": doc["ID"],
                          "FileName": f"{desc.lower().replace(' ', '-')}-{fid[:8]}{'-' + str(n) if n else ''}.{ext}",
                          "FileSize": rng.randrange(40_000, 2_400_000),
                          "Url": f"/docs/SysAttachment.aspx?ID={fid}"})
    if files:
        big = files[len(files) // 2]
        big["FileSize"] = OVERSIZE_BYTES + rng.randrange(1, 10_000_000)
        truth.plant("oversized_attachment", "DocumentAttachments", big["ID"], "FileSize", big["FileSize"])
    return docs, files


def _definitions(ids, as_of: dt.datetime, practice: str) -> dict[str, list[dict]]:
    made = to_odata_date(as_of - dt.timedelta(days=700))
    free = [{"ID": ids(), "Entity": e, "Field": f, "Label": label, "DataType": t} for e, f, label, t in FREE_FIELDS]
    flows = [
        ("Treatment plan follow-up", "workflow", "Opportunity stage becomes Treatment Plan Sent",
         ["Wait 7 days", "If stage unchanged: create Call task for the opportunity owner",
          "Send email template 'Treatment plan reminder'"]),
        ("Appointment reminder", "reminder", "Event (appointment) starts in 48 hours",
         ["Send email template 'Appointment reminder' to the event contact"]),
        ("Hygiene recall", "recall_rule", "FreeDateField_01 (Last recall) + FreeNumberField_01 months is reached",
         ["Create Correspondence task 'Send recall letter'", "Send email template 'Recall due'"]),
    ]
    workflows = [{"ID": ids(), "Name": n, "Category": cat, "Trigger": trig, "Steps": "\n".join(steps), "Active": True,
                  "Created": made, "Modified": made} for n, cat, trig, steps in flows]
    templates = [
        ("Treatment plan reminder", "Your treatment plan from {Division.Name}",
         "<p>Dear {Contact.FirstName},</p><p>We sent you your {Opportunity.Name} plan. Reply or call "
         "{Division.Phone} with any questions.</p>"),
        ("Appointment reminder", "Your appointment on {Event.StartDate}",
         "<p>Dear {Contact.FirstName}, this is a reminder of your appointment at {Event.StartDate} "
         "in {Event.Location}.</p>"),
        ("Recall due", "Time for your check-up",
         f"<p>Dear {{Contact.FirstName}}, your recall at {practice} is due. Please book online or call us.</p>"),
    ]
    emails = [{"ID": ids(), "Name": n, "Subject": s, "Body": b, "Created": made, "Modified": made}
              for n, s, b in templates]
    return {"FreeFields": free, "Workflows": workflows, "EmailTemplates": emails}


def generate(rng: random.Random, ids, truth, *, users, accounts, contacts, region, as_of, domain, practice) -> dict:
    """Every entity except users, accounts and contacts, as ``{entity: [records]}``."""
    opps = _opportunities(rng, ids, truth, users, accounts, contacts, region, as_of)
    tasks, events, notes = _activities(rng, ids, users, contacts, opps, as_of)
    docs, files = _documents(rng, ids, truth, users, contacts, opps, as_of)
    gone = as_of - dt.timedelta(days=90)
    # history the sync/Deleted endpoint reports from before the export: two patients erased
    deleted = [{"EntityKey": ids(), "EntityType": 5, "DeletedBy": users[-1]["UserID"],
                "DeletedDate": to_odata_date(gone + dt.timedelta(days=i)), "Division": None} for i in range(2)]
    return {"Opportunities": opps, "Tasks": tasks, "Events": events, "CommunicationNotes": notes,
            "Documents": docs, "DocumentAttachments": files, "Deleted": deleted,
            **_definitions(ids, as_of, practice)}
