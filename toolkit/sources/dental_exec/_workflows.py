"""Dental-Exec's workflow definitions (``workflows.json``, its workflow builder's export) and
e-mail templates (``email_templates.csv``).

Not records: the reader turns them into ``Snapshot.meta["automations"]`` (``{kind, name, trigger,
steps, body, channel}``) for the rebuild guide. A workflow step that sends a template carries the
template's body, so the guide shows what the message said.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...errors import SourceError
from .._csv import read_strict_csv
from .._layout import Layout
from .._synth_export import write_csv, write_json

__all__ = ["WORKFLOWS_FILE", "TEMPLATES_FILE", "write_definitions", "read_definitions"]

WORKFLOWS_FILE, TEMPLATES_FILE = "workflows.json", "email_templates.csv"
_TEMPLATE_COLUMNS = ("TemplateID", "Name", "Subject", "Body")
# Written for this generator; merge fields use Dental-Exec's %%FIELD%% style.
_TEMPLATES = (
    ("ET1", "Referral thank-you", "Thank you for your referral",
     "Dear Dr. %%LastName%%,\r\nthank you for referring %%PatientName%%. We will keep you posted."),
    ("ET2", "Treatment plan follow-up", "Your treatment plan",
     "Hi %%FirstName%%, do you have any questions about your %%CaseName%% plan? Reply or call us."),
    ("ET3", "Hygiene recall", "Time for your cleaning", "Hi %%FirstName%%, you are due for a cleaning."),
)
_WORKFLOWS = [
    {"id": "WF-100", "name": "New referral intake", "active": True,
     "trigger": {"object": "Contact", "event": "created", "condition": "LifecycleRole = Prospect"},
     "steps": [{"action": "create_task", "subject": "Call new referral within 24h"},
               {"action": "send_email", "template": "ET1", "to": "referring dentist"}]},
    {"id": "WF-110", "name": "Treatment presented follow-up", "active": True,
     "trigger": {"object": "TreatmentCase", "event": "stage_changed", "condition": "Stage = Treatment Presented"},
     "steps": [{"action": "wait", "days": 3}, {"action": "send_email", "template": "ET2"},
               {"action": "wait", "days": 7}, {"action": "create_task", "subject": "Follow-up call"}]},
    {"id": "WF-120", "name": "Hygiene recall (tasks)", "active": True,
     "trigger": {"object": "Appointment", "event": "completed", "condition": "AppointmentType = Hygiene"},
     "steps": [{"action": "wait", "days": 170}, {"action": "send_email", "template": "ET3"},
               {"action": "create_task", "subject": "Recall call", "type": "Recall"}]},
    {"id": "WF-130", "name": "Insurance verification", "active": False,
     "trigger": {"object": "Appointment", "event": "scheduled"},
     "steps": [{"action": "create_task", "subject": "Verify insurance", "type": "Insurance Verification"}]},
]


def write_definitions(out: Path) -> dict[str, int]:
    """Write ``workflows.json`` and ``email_templates.csv`` (UTF-8 with BOM, CRLF)."""
    write_json(out / WORKFLOWS_FILE, {"exported_by": "Dental-Exec", "workflows": _WORKFLOWS})
    write_csv(out / TEMPLATES_FILE, _TEMPLATE_COLUMNS, [dict(zip(_TEMPLATE_COLUMNS, t)) for t in _TEMPLATES],
              encoding="utf-8-sig")
    return {WORKFLOWS_FILE: len(_WORKFLOWS), TEMPLATES_FILE: len(_TEMPLATES)}


def _step(s: dict, templates: dict) -> str:
    if s.get("action") == "wait":
        return f"wait {s.get('days')} days"
    if s.get("action") == "send_email":
        t = templates.get(s.get("template"))
        return f"send email \"{t['Name'] if t else s.get('template')}\"" + (f" to {s['to']}" if s.get("to") else "")
    if s.get("action") == "create_task":
        return f"create task \"{s.get('subject')}\""
    return json.dumps(s, ensure_ascii=False)


def read_definitions(present: dict[str, Path], layout: Layout) -> tuple[list[dict], list[str]]:
    """Templates and workflows as automation entries; absent files give none.

    Raises:
        SourceError: a definitions file is present but unreadable.
    """
    out, used, templates = [], [], {}
    tpath = present.get(TEMPLATES_FILE)
    if tpath is not None:
        used.append(tpath.name)
        frame = read_strict_csv(tpath, expected_columns=_TEMPLATE_COLUMNS, fallback_encoding=layout.encoding,
                                display_name=TEMPLATES_FILE).frame.fillna("")
        for row in frame.to_dict("records"):
            templates[row["TemplateID"]] = row
            out.append({"kind": "email_template", "name": row["Name"], "trigger": None, "steps": [],
                        "body": f"{row['Subject']}\n\n{row['Body']}", "channel": "email"})
    wpath = present.get(WORKFLOWS_FILE)
    if wpath is not None:
        used.append(wpath.name)
        try:
            flows = json.loads(wpath.read_text(encoding="utf-8-sig"))["workflows"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceError(f"not a workflow export ({exc})", file=WORKFLOWS_FILE) from None
        for wf in flows:
            trig = wf.get("trigger") or {}
            trigger = f"{trig.get('object', '?')} {trig.get('event', '?')}" + (
                f" where {trig['condition']}" if trig.get("condition") else "")
            steps = [_step(s, templates) for s in wf.get("steps") or []]
            if not wf.get("active", True):
                steps.append("(workflow is inactive)")
            sent = [templates[s["template"]]["Body"] for s in wf.get("steps") or []
                    if s.get("action") == "send_email" and s.get("template") in templates]
            out.append({"kind": "workflow", "name": wf.get("name", wf.get("id", "")), "trigger": trigger,
                        "steps": steps, "body": "\n\n".join(sent),
                        "channel": "email" if sent else "task"})
    return out, used
