"""Dent-O-Soft's automation definitions: the recall and appointment-reminder rules and the message
templates they send, as its export utility writes them (``automation_rules.csv`` and
``message_templates.csv``, cp1252 like every other file).

They are not records to migrate: no CRM can import another system's workflows. The reader turns
them into ``Snapshot.meta["automations"]`` — one entry per rule and per template, each
``{kind, name, trigger, steps, body, channel}`` — which the rebuild guide lays out for the
person who recreates them in the destination's workflow builder.
"""

from __future__ import annotations

from pathlib import Path

from .._csv import read_strict_csv
from .._layout import Layout
from .._synth_export import write_csv

__all__ = ["read_definitions", "write_definitions", "RULE_COLUMNS", "TEMPLATE_COLUMNS",
           "RULES_FILE", "TEMPLATES_FILE"]

RULES_FILE, TEMPLATES_FILE = "automation_rules.csv", "message_templates.csv"
RULE_COLUMNS = ("RuleID", "RuleType", "Name", "TriggerEvent", "OffsetDays", "Channel",
                "TemplateID", "Active")
TEMPLATE_COLUMNS = ("TemplateID", "Name", "Channel", "Subject", "Body")

# Written for this generator; merge fields in [brackets] are the software's style.
_TEMPLATES = (
    ("T01", "Recall due (text)", "SMS", "",
     "Hi [FirstName], it's time for your [RecallType] at [PracticeName]. Reply YES to book or "
     "call [PracticePhone]."),
    ("T02", "Recall due (email)", "Email", "Time for your next visit",
     "Dear [FirstName],\r\nOur records show your [RecallType] is due on [DueDate]. Book online "
     "or call us at [PracticePhone].\r\nSee you soon,\r\n[PracticeName]"),
    ("T03", "Recall overdue (text)", "SMS", "",
     "[FirstName], we missed you! Your [RecallType] is overdue. Call [PracticePhone] to "
     "schedule."),
    ("T04", "Appointment reminder (text)", "SMS", "",
     "Reminder: [FirstName], you have an appointment on [AptDate] at [AptTime] with "
     "[ProviderName]. Reply C to confirm."),
    ("T05", "Appointment reminder (email)", "Email", "Your appointment on [AptDate]",
     "Dear [FirstName],\r\nThis is a reminder of your appointment on [AptDate] at [AptTime].\r\n"
     "Please arrive 10 minutes early and bring your insurance card."),
    ("T06", "Appointment confirmation (text)", "SMS", "",
     "Thanks [FirstName], your appointment on [AptDate] at [AptTime] is confirmed."),
)
_RULES = (
    ("R01", "Recall", "6-month hygiene recall", "RecallDue", "-14", "SMS", "T01", "Y"),
    ("R02", "Recall", "6-month hygiene recall (email)", "RecallDue", "-14", "Email", "T02", "Y"),
    ("R03", "Recall", "Overdue recall follow-up", "RecallDue", "30", "SMS", "T03", "Y"),
    ("R04", "Recall", "Perio maintenance recall", "RecallDue", "-7", "SMS", "T01", "Y"),
    ("R05", "Reminder", "Two-day appointment reminder", "AppointmentScheduled", "-2", "SMS",
     "T04", "Y"),
    ("R06", "Reminder", "One-week appointment reminder", "AppointmentScheduled", "-7", "Email",
     "T05", "Y"),
    ("R07", "Reminder", "Booking confirmation", "AppointmentBooked", "0", "SMS", "T06", "N"),
)
_KIND = {"Recall": "recall_rule", "Reminder": "reminder"}
_TEMPLATE_KIND = {"SMS": "sms_template", "Email": "email_template"}


def write_definitions(out: Path) -> dict[str, int]:
    """Write both definition files into the export folder; returns rows per file."""
    write_csv(out / TEMPLATES_FILE, TEMPLATE_COLUMNS,
              [dict(zip(TEMPLATE_COLUMNS, t)) for t in _TEMPLATES])
    write_csv(out / RULES_FILE, RULE_COLUMNS, [dict(zip(RULE_COLUMNS, r)) for r in _RULES])
    return {TEMPLATES_FILE: len(_TEMPLATES), RULES_FILE: len(_RULES)}


def _when(event: str, offset: str) -> str:
    days = int(offset) if offset.lstrip("-").isdigit() else 0
    if days == 0:
        return f"when {event}"
    return f"{abs(days)} days {'before' if days < 0 else 'after'} {event}"


def read_definitions(present: dict[str, Path], layout: Layout) -> tuple[list[dict], list[str]]:
    """Rules and templates as ``meta["automations"]`` entries; absent files give none.

    Raises:
        SourceError: a definitions file is present but unreadable (naming file, row, column).
    """
    used, templates, out = [], {}, []
    tpath = present.get(TEMPLATES_FILE)
    if tpath is not None:
        used.append(tpath.name)
        t = read_strict_csv(tpath, expected_columns=TEMPLATE_COLUMNS,
                            fallback_encoding=layout.encoding, display_name=TEMPLATES_FILE).frame
        for row in t.fillna("").to_dict("records"):
            templates[row["TemplateID"]] = row
            out.append({"kind": _TEMPLATE_KIND.get(row["Channel"], "email_template"),
                        "name": row["Name"], "trigger": None, "steps": [],
                        "body": (row["Subject"] + "\n\n" if row["Subject"] else "") + row["Body"],
                        "channel": row["Channel"].lower()})
    rpath = present.get(RULES_FILE)
    if rpath is not None:
        used.append(rpath.name)
        r = read_strict_csv(rpath, expected_columns=RULE_COLUMNS,
                            fallback_encoding=layout.encoding, display_name=RULES_FILE).frame
        for row in r.fillna("").to_dict("records"):
            tpl = templates.get(row["TemplateID"])
            step = (f"send {row['Channel']} \"{tpl['Name']}\"" if tpl
                    else f"send {row['Channel']} template {row['TemplateID']} (not in the export)")
            out.append({"kind": _KIND.get(row["RuleType"], "workflow"), "name": row["Name"],
                        "trigger": _when(row["TriggerEvent"], row["OffsetDays"]),
                        "steps": [step] + ([] if row["Active"] == "Y" else ["(rule is inactive)"]),
                        "body": tpl["Body"] if tpl else "", "channel": row["Channel"].lower()})
    return out, used
