"""What is known of Pipedrive besides its API calls: defaults, quota, merge-field syntax and where
each kind of automation is rebuilt. The adapter class exposes these; nothing outside this
package keeps a table of them."""

from __future__ import annotations

from ...errors import ConfigError
from ..knowledge import MergeEntry, Quota

__all__ = ["DISPLAY_NAME", "DEFAULT_BASE_URL", "DEFAULT_TOKEN_ENV", "SENDS_SMS", "quota", "MERGE_FIELDS",
           "REBUILD_WHERE"]

DISPLAY_NAME = 'Pipedrive'
#: the API root when ``init`` is given none (the vendor specs' server host; the token says which company)
DEFAULT_BASE_URL = 'https://api.pipedrive.com'
#: the environment variable that holds the token, when ``init`` is given none
DEFAULT_TOKEN_ENV = 'PIPEDRIVE_TOKEN'
#: whether workflows can send SMS themselves (else a rebuild guide says how to send them)
SENDS_SMS = False


#: daily token multiplier and burst (requests per 2 s per token) by plan (research pipedrive.md §2.2, §2.4)
PLAN_MULTIPLIER = {"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}
PLAN_BURST = {"lite": 20, "growth": 40, "premium": 100, "ultimate": 120}


def quota(options: dict) -> Quota:
    """30,000 tokens × plan multiplier × seats a day; v2 writes 5 tokens, v1 (leads, notes) 10."""
    plan = str(options.get("plan", "growth")).lower()
    seats = int(options.get("seats", 1))
    if plan not in PLAN_MULTIPLIER:
        raise ConfigError(f"unknown Pipedrive plan {plan!r} in the workspace's destination options "
                          f"(plans: {', '.join(PLAN_MULTIPLIER)})")
    assumed = [] if "plan" in options else ["Pipedrive plan Growth (set destination options plan:)"]
    assumed += [] if "seats" in options else ["one Pipedrive seat (set destination options seats:)"]
    return Quota("pipedrive", burst=PLAN_BURST[plan], burst_seconds=2,
                 daily=30_000 * PLAN_MULTIPLIER[plan] * seats, unit="tokens",
                 write_cost={"lead": 10, "note": 10, "*": 5}, page_size=500, list_cost=10,
                 # a missing pipeline: its create and the pipelines/stages reads around it
                 # (measured on the Dental-Exec demo: 4 pipelines, 16 requests); one create per stage
                 setup_per_pipeline=4, setup_per_stage=1,
                 source=f"Pipedrive's published API limits: 30,000 × {PLAN_MULTIPLIER[plan]} × {seats} tokens a day; "
                        f"{PLAN_BURST[plan]} requests per 2 s", assumptions=tuple(assumed))


#: concept -> how this CRM's templates write it; a concept absent here is untranslatable
MERGE_FIELDS: dict[str, MergeEntry] = {
    "contact.first_name": MergeEntry("[Person: First name]", "check"),
    "contact.last_name": MergeEntry("[Person: Last name]", "check"),
    "contact.full_name": MergeEntry("[Person: Name]", "check"),
    "contact.email": MergeEntry("[Person: Email]", "check"),
    "contact.phone": MergeEntry("[Person: Phone]", "check"),
    "contact.preferred_name": MergeEntry("[Person: {name}]", "custom", "preferred_name"),
    "contact.date_of_birth": MergeEntry("[Person: {name}]", "custom", "date_of_birth"),
    "contact.balance": MergeEntry("[Person: {name}]", "custom", "balance"),
    "appointment.provider": MergeEntry("[Deal: Owner]", "check", note="the deal's owner"),
    "practice.name": MergeEntry("[Organization: Name]", "check", note="only if the practice is an organization record"),
    "recall.type": MergeEntry("[Deal: {name}]", "custom", "recall_type"),
    "recall.due_date": MergeEntry("[Deal: {name}]", "custom", "recall_date"),
}

#: kind of automation -> where in Pipedrive it is rebuilt, and how (plain English)
REBUILD_WHERE: dict[str, str] = {
    "workflow": "Automations: a new automation with the matching trigger (person, deal or activity) and actions.",
    "reminder": "Automations: trigger on the activity (the appointment), then send an email with a template.",
    "recall_rule": "Automations on the recall deal, timed from its recall date field.",
    "email_template": "Email templates (Sales inbox): a new template; insert fields from the field list.",
    "sms_template": "No built-in SMS: send through an SMS app from the Marketplace, or keep the text for staff.",
}
