"""Practice by Numbers' engagement campaigns: the automated recall, reminder, confirmation,
reactivation and review sequences, with the message each step sends (``campaigns.csv``).

They are definitions, not records: the reader turns them into ``Snapshot.meta["automations"]``
(``{kind, name, trigger, steps, body, channel}``) for the rebuild guide, since workflows cannot be
imported into any CRM and have to be rebuilt in its workflow builder.
"""

from __future__ import annotations

from pathlib import Path

from .._csv import read_strict_csv
from .._layout import Layout
from .._synth_export import write_csv

__all__ = ["CAMPAIGNS_FILE", "CAMPAIGN_COLUMNS", "CAMPAIGNS", "write_campaigns", "read_definitions"]

CAMPAIGNS_FILE = "campaigns.csv"
CAMPAIGN_COLUMNS = ("campaign_id", "name", "type", "trigger", "channel", "steps", "template_body",
                    "active")
# Written for this generator. Merge fields use PbN-style {{double braces}}; steps are "|"-separated.
CAMPAIGNS = (
    ("CMP-01", "Hygiene recall", "Recall", "recall due in 14 days", "SMS",
     "send SMS|wait 7 days|send email if not booked|wait 14 days|add to call list",
     "Hi {{first_name}}, your cleaning at {{office_name}} is due. Book here: {{booking_link}}",
     "true"),
    ("CMP-02", "Appointment reminder", "Reminder", "appointment in 2 days", "SMS",
     "send SMS|wait 1 day|send SMS if not confirmed",
     "{{first_name}}, see you {{appointment_date}} at {{appointment_time}}. Reply C to confirm.",
     "true"),
    ("CMP-03", "Appointment confirmation", "Confirmation", "appointment booked", "Email",
     "send email",
     "Dear {{first_name}},\nyour appointment on {{appointment_date}} is booked.\n{{office_name}}",
     "true"),
    ("CMP-04", "Reactivation: no visit in 18 months", "Reactivation",
     "last visit over 18 months ago", "Email", "send email|wait 30 days|send SMS",
     "We miss you, {{first_name}}! Come back for a check-up: {{booking_link}}", "true"),
    ("CMP-05", "Review request", "Review Request", "appointment completed", "SMS",
     "wait 2 hours|send SMS",
     "Thanks for visiting {{office_name}}, {{first_name}}. Tell us how we did: {{review_link}}",
     "false"),
)
_KIND = {"Recall": "recall_rule", "Reminder": "reminder", "Confirmation": "workflow",
         "Reactivation": "workflow", "Review Request": "workflow"}


def write_campaigns(out: Path) -> dict[str, int]:
    """Write ``campaigns.csv`` into the export folder (UTF-8, LF)."""
    write_csv(out / CAMPAIGNS_FILE, CAMPAIGN_COLUMNS, [dict(zip(CAMPAIGN_COLUMNS, c)) for c in CAMPAIGNS],
              encoding="utf-8", line_terminator="\n")
    return {CAMPAIGNS_FILE: len(CAMPAIGNS)}


def read_definitions(present: dict[str, Path], layout: Layout) -> tuple[list[dict], list[str]]:
    """Each campaign as a workflow entry and its message as a template entry.

    Raises:
        SourceError: ``campaigns.csv`` is present but unreadable (naming file, row, column).
    """
    path = present.get(CAMPAIGNS_FILE)
    if path is None:
        return [], []
    frame = read_strict_csv(path, expected_columns=CAMPAIGN_COLUMNS, fallback_encoding=layout.encoding,
                            display_name=CAMPAIGNS_FILE).frame.fillna("")
    out = []
    for row in frame.to_dict("records"):
        channel = row["channel"].lower()
        steps = [s.strip() for s in row["steps"].split("|") if s.strip()]
        if row["active"] != "true":
            steps.append("(campaign is paused)")
        out.append({"kind": _KIND.get(row["type"], "workflow"), "name": row["name"],
                    "trigger": row["trigger"], "steps": steps, "body": row["template_body"],
                    "channel": channel})
        out.append({"kind": "sms_template" if channel == "sms" else "email_template",
                    "name": f"{row['name']} message", "trigger": None, "steps": [],
                    "body": row["template_body"], "channel": channel})
    return out, [path.name]
