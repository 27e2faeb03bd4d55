"""What is known of Freshsales besides its API calls: defaults, quota, merge-field syntax and where
each kind of automation is rebuilt. The adapter class exposes these; nothing outside this
package keeps a table of them."""

from __future__ import annotations

from ...errors import ConfigError
from ..knowledge import MergeEntry, Quota
from ._bulk import BATCH
from ._records import OBJECTS

__all__ = ["DISPLAY_NAME", "DEFAULT_BASE_URL", "DEFAULT_TOKEN_ENV", "SENDS_SMS", "quota", "MERGE_FIELDS",
           "REBUILD_WHERE"]

DISPLAY_NAME = 'Freshsales'
#: the API root when ``init`` is given none
DEFAULT_BASE_URL = None
#: the environment variable that holds the token, when ``init`` is given none
DEFAULT_TOKEN_ENV = 'FRESHSALES_TOKEN'
#: whether workflows can send SMS themselves (else a rebuild guide says how to send them)
SENDS_SMS = False


#: requests per minute on every paid plan (research freshsales.md §2)
PER_MINUTE = 400
#: requests per hour per account by plan (§2, current and legacy names): the pacer and the
#: estimate read this one table
PLAN_HOURLY = {"blossom": 1000, "garden": 1000, "estate": 2000, "forest": 5000,
               "growth": 1000, "pro": 2000, "enterprise": 5000}


def quota(options: dict) -> Quota:
    """Per account per hour by plan, 400 a minute; bulk upsert of 100 (§2, §6)."""
    plan = str(options.get("plan", "garden")).lower()
    if plan not in PLAN_HOURLY:
        raise ConfigError(f"unknown Freshsales plan {plan!r} in the workspace's destination options "
                          f"(plans: {', '.join(PLAN_HOURLY)})")
    hourly = PLAN_HOURLY[plan]
    return Quota("freshsales", burst=PER_MINUTE, burst_seconds=60, hourly=hourly, daily=hourly * 24,
                 # every object bulk upsert takes (leads are contacts: the same endpoint)
                 batch={o: BATCH for o, info in OBJECTS.items() if info.bulk}, page_size=100,
                 # each bulk call: its job polled, then the new ids found by Source ID (§6, §3)
                 calls_per_batch=2,
                 # measured (benchmarks/demo_windows.py, Dental-Exec, 40 patients): each contact,
                 # lead, account and deal object reads its field catalogue and form again while its
                 # fields are made, its list view's id and first page before the load, and both
                 # again in reconcile; tasks and appointments list their open/done (upcoming/past)
                 # views before the load and in reconcile
                 reads_per_object={"contact": 8, "lead": 8, "sales_account": 8, "deal": 8, "task": 3,
                                   "appointment": 4},
                 run_reads=4,  # lifecycle stages (load, reconcile twice), owners again in the load
                 # each deal pipeline's stages are a call of their own (§3 selectors), read when
                 # the stage map is made and again before the load
                 reads_per_pipeline=2,
                 # notes and files are read through the record they hang on: one read of the record
                 # (its notes) and one of its document associations, per contact (leads are contacts), account and deal
                 contact_reads=(("note",), ("file",)), reads_under=("contact", "lead", "sales_account", "deal"),
                 source=f"Freshsales' published API limits: {hourly:,} requests an hour on this plan, 400 a minute; "
                        "bulk upsert of 100 records a call",
                 assumptions=() if "plan" in options else ("Freshsales plan Garden (set destination options plan:)",))


#: concept -> how this CRM's templates write it; a concept absent here is untranslatable
MERGE_FIELDS: dict[str, MergeEntry] = {
    "contact.first_name": MergeEntry("{{contact.first_name}}", "check"),
    "contact.last_name": MergeEntry("{{contact.last_name}}", "check"),
    "contact.full_name": MergeEntry("{{contact.display_name}}", "check"),
    "contact.email": MergeEntry("{{contact.email}}", "check"),
    "contact.phone": MergeEntry("{{contact.mobile_number}}", "check"),
    "contact.address": MergeEntry("{{contact.address}}", "check"),
    "contact.date_of_birth": MergeEntry("{{contact.cf_{key}}}", "custom", "date_of_birth"),
    "contact.preferred_name": MergeEntry("{{contact.cf_{key}}}", "custom", "preferred_name"),
    "contact.balance": MergeEntry("{{contact.cf_{key}}}", "custom", "balance"),
    "appointment.provider": MergeEntry("{{contact.owner_name}}", "check",
                                  note="the contact's owner, which owner resolution sets from the provider"),
    "recall.type": MergeEntry("{{contact.cf_{key}}}", "custom", "recall_type"),
    "recall.due_date": MergeEntry("{{contact.cf_{key}}}", "custom", "recall_date"),
}

#: kind of automation -> where in Freshsales it is rebuilt, and how (plain English)
REBUILD_WHERE: dict[str, str] = {
    "workflow": "Admin settings › Workflows: a workflow on the contact with the same trigger and actions.",
    "reminder": "Appointments keep their own reminders; for a message to the patient use a Workflow or a "
                "Sales sequence on the contact.",
    "recall_rule": "Admin settings › Workflows (or a Sales sequence) on the contact, timed from the recall "
                   "date field.",
    "email_template": "Email templates: a new template; pick placeholders from the placeholder list.",
    "sms_template": "No SMS step of its own (research/freshsales.md lists no SMS endpoint): send through an "
                    "SMS integration, or keep the text for staff to send.",
}
