"""What is known of HighLevel besides its API calls: defaults, quota, merge-field syntax and where
each kind of automation is rebuilt. The adapter class exposes these; nothing outside this
package keeps a table of them."""

from __future__ import annotations

from ..knowledge import MergeEntry, Quota

__all__ = ["DISPLAY_NAME", "DEFAULT_BASE_URL", "DEFAULT_TOKEN_ENV", "SENDS_SMS", "quota", "MERGE_FIELDS",
           "REBUILD_WHERE"]

DISPLAY_NAME = 'HighLevel'
#: the API root when ``init`` is given none
DEFAULT_BASE_URL = 'https://services.leadconnectorhq.com'
#: the environment variable that holds the token, when ``init`` is given none
DEFAULT_TOKEN_ENV = 'HIGHLEVEL_TOKEN'
#: whether workflows can send SMS themselves (else a rebuild guide says how to send them)
SENDS_SMS = True


def quota(options: dict) -> Quota:
    """100 requests per 10 s and 200,000 a day per location (research highlevel.md §2)."""
    return Quota("highlevel", burst=100, burst_seconds=10, daily=200_000, page_size=100,
                 # a custom record is created, then related to its contact (the create takes no
                 # association); a file is uploaded, then attached by a note; a business is
                 # created, then its custom values written (its POST takes none, apps/businesses.json)
                 calls_per_write={"custom_object:*": 2, "file": 2, "company": 2},
                 # a contact's business is set after its create (POST /contacts/bulk/business);
                 # a business's description too (PUT: the create DTO has none)
                 calls_per_part={"contact.businessId": 1, "company.description": 1},
                 # schema, association, folder, and the reads that check them (measured on the demo)
                 setup_per_custom_object=9,
                 contact_reads=(("file", "note"), ("custom_object:*",)),
                 source="HighLevel's published API limits: 100 requests per 10 s and 200,000 a day per location")


#: concept -> how this CRM's templates write it; a concept absent here is untranslatable
MERGE_FIELDS: dict[str, MergeEntry] = {
    "contact.first_name": MergeEntry("{{contact.first_name}}"),
    "contact.last_name": MergeEntry("{{contact.last_name}}"),
    "contact.full_name": MergeEntry("{{contact.name}}"),
    "contact.email": MergeEntry("{{contact.email}}"),
    "contact.phone": MergeEntry("{{contact.phone}}"),
    "contact.date_of_birth": MergeEntry("{{contact.date_of_birth}}"),
    "contact.address": MergeEntry("{{contact.address1}}"),
    "contact.preferred_name": MergeEntry("{{contact.{key}}}", "custom", "preferred_name"),
    "contact.balance": MergeEntry("{{contact.{key}}}", "custom", "balance"),
    "appointment.date": MergeEntry("{{appointment.only_start_date}}", "check",
                              note="only in workflows started by an appointment trigger"),
    "appointment.time": MergeEntry("{{appointment.only_start_time}}", "check",
                              note="only in workflows started by an appointment trigger"),
    "appointment.provider": MergeEntry("{{appointment.user.name}}", "check",
                                  note="the calendar's assigned user; providers without a HighLevel user show blank"),
    "practice.name": MergeEntry("{{location.name}}"),
    "practice.phone": MergeEntry("{{location.phone}}"),
    "practice.address": MergeEntry("{{location.full_address}}", "check"),
    "recall.type": MergeEntry("{{opportunity.{key}}}", "custom", "recall_type",
                         note="a field of the recall opportunity: use it in a workflow started by the opportunity"),
    "recall.due_date": MergeEntry("{{opportunity.{key}}}", "custom", "recall_date",
                             note="a field of the recall opportunity: use it in a workflow started by the opportunity"),
}

#: kind of automation -> where in HighLevel it is rebuilt, and how (plain English)
REBUILD_WHERE: dict[str, str] = {
    "workflow": "Automation › Workflows: a new workflow with the same trigger and actions.",
    "reminder": "Automation › Workflows: trigger on the appointment (booked or status changed), add a Wait "
                "until the offset before the appointment, then a Send SMS or Send Email action.",
    "recall_rule": "Automation › Workflows: trigger on the recall opportunity (pipeline Recall) and wait "
                   "relative to its Recall Date field, then send the message.",
    "email_template": "Marketing › Emails › Templates: a new template with this subject and body.",
    "sms_template": "Conversations › Snippets (text): a new snippet with this text, used by the workflows' "
                    "Send SMS actions.",
}
