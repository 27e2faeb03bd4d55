"""What the EXACT extractor reads: one declared stream per Exact Online endpoint (layout ``exact-online/1``).

Endpoints and fields follow ../shared/research/exact.md §5 (picqer's entity classes). Where Exact
has a sync endpoint (accounts, contacts, documents, attachments) we read it - 1,000 records a call
and a ``Timestamp`` rowversion for deltas (§6); the rest are regular endpoints (60 a call) whose
delta filters on ``Modified``. Fields marked "assumed" below are not in the research note: the
contact free fields (Exact puts FreeText/Date/Number/Bool fields on several entities; which ones
carry them on contacts is **VERIFY**), ``CommunicationNotes.Type``, ``Users.JobTitle``, and the three
definition endpoints (free-field labels, workflows, email templates) for which the research found
no REST resource - on a real division they answer 404 once, and the extractor then records them as
absent and never asks again.

Each declared column has one of the Snapshot types (``id text email phone date datetime number
money flag picklist code``): ``date`` and ``datetime`` columns arrive as ``/Date(ms)/`` and become
ISO 8601 text (wall time, as Exact keeps it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...shapes import ObjectSchema

__all__ = ["Stream", "STREAMS", "LAYOUT_VERSION", "DELETED_ENTITY_TYPES", "stream"]

LAYOUT_VERSION = "exact-online/1"


@dataclass(frozen=True)
class Stream:
    """One endpoint the extractor pages through.

    Attributes:
        name: the Snapshot object (or meta entry) it fills.
        endpoint: the path after ``/api/v1/{division}/``.
        key: the record id field.
        columns: field -> Snapshot type, in the order the table shows them.
        delta: ``sync`` (``Timestamp gt n``), ``modified`` (``Modified ge datetime``) or ``full``
            (read everything each time; records no longer there are dropped).
        optional: a 404 means "this division has no such resource", not a failure.
        table: whether it becomes a Snapshot table (else it goes to ``Snapshot.meta``).
        references / picklists / updated: as :class:`~toolkit.shapes.ObjectSchema`.
    """

    name: str
    endpoint: str
    key: str
    columns: dict[str, str]
    delta: str
    optional: bool = False
    table: bool = True
    references: dict[str, str] = field(default_factory=dict)
    picklists: dict[str, list[str]] = field(default_factory=dict)
    updated: str | None = "Modified"

    @property
    def sync(self) -> bool:
        return self.delta == "sync"

    @property
    def select(self) -> str:
        """The ``$select`` list: every declared column (sync endpoints need it, and ``*`` is refused, §4/§6)."""
        return ",".join(list(self.columns) + (["Timestamp"] if self.sync else []))

    def schema(self) -> ObjectSchema:
        return ObjectSchema(name=self.name, file=self.endpoint, key=self.key, columns=dict(self.columns),
                            picklists={k: list(v) for k, v in self.picklists.items()},
                            references=dict(self.references), updated_column=self.updated)


_STAMPS = {"Created": "datetime", "Modified": "datetime"}
_LINKS = {"Account": "accounts.ID", "Contact": "contacts.ID", "Opportunity": "opportunities.ID"}

STREAMS: tuple[Stream, ...] = (
    Stream("users", "users/Users", "UserID", {
        "UserID": "id", "UserName": "text", "FullName": "text", "FirstName": "text", "LastName": "text",
        "Email": "email", "Title": "text", "JobTitle": "text", "StartDate": "date", "EndDate": "date", **_STAMPS},
        delta="full"),
    Stream("accounts", "sync/CRM/Accounts", "ID", {
        "ID": "id", "Code": "code", "Name": "text", "Parent": "id", "MainContact": "id", "AccountManager": "id",
        "AccountManagerFullName": "text", "Email": "email", "Phone": "phone", "Website": "text",
        "AddressLine1": "text", "City": "text", "State": "text", "Postcode": "text", "Country": "code",
        "Status": "picklist", "IsSupplier": "flag", "ChamberOfCommerce": "text", "Remarks": "text",
        "SectorDescription": "text", "CompanySizeDescription": "text",  # assumed: industry and size band
        **_STAMPS},
        delta="sync", references={"Parent": "accounts.ID", "MainContact": "contacts.ID",
                                  "AccountManager": "users.UserID"},
        picklists={"Status": ["A", "S", "P", "C"]}),
    Stream("contacts", "sync/CRM/Contacts", "ID", {
        "ID": "id", "Account": "id", "AccountName": "text", "Title": "text", "FirstName": "text",
        "MiddleName": "text", "LastName": "text", "FullName": "text", "Email": "email", "Phone": "phone",
        "Mobile": "phone", "BusinessPhone": "phone", "BirthDate": "date", "Gender": "picklist",
        "JobTitleDescription": "text", "IsMainContact": "flag", "Notes": "text",
        "FreeTextField_01": "text", "FreeTextField_02": "text", "FreeTextField_03": "text",  # assumed
        "FreeDateField_01": "date", "FreeNumberField_01": "number", "FreeBoolField_01": "flag", **_STAMPS},
        delta="sync", references={"Account": "accounts.ID"}, picklists={"Gender": ["M", "F", "O"]}),
    Stream("opportunities", "crm/Opportunities", "ID", {
        "ID": "id", "Name": "text", "Account": "id", "AccountName": "text", "Contact": "id",
        "ContactFullName": "text", "AmountDC": "money", "Currency": "code", "CloseDate": "date",
        "OpportunityStage": "id", "OpportunityStageDescription": "text", "OpportunityStatus": "picklist",
        "Probability": "number", "Owner": "id", "OwnerFullName": "text", "LeadSourceDescription": "text",
        "Notes": "text", **_STAMPS},
        delta="modified", references={"Account": "accounts.ID", "Contact": "contacts.ID", "Owner": "users.UserID"},
        picklists={"OpportunityStatus": ["1", "2", "3"]}),
    Stream("tasks", "activities/Tasks", "ID", {
        "ID": "id", "Account": "id", "Contact": "id", "Opportunity": "id", "TaskType": "picklist",
        "TaskTypeDescription": "text", "Description": "text", "Notes": "text", "Status": "picklist",
        "ActionDate": "date", "User": "id", "UserFullName": "text", "Created": "datetime", "Creator": "id",
        "Modified": "datetime"},
        delta="modified", references={**_LINKS, "User": "users.UserID"},
        picklists={"TaskType": ["0", "1", "2", "3", "4", "5", "6"],
                   "Status": ["0", "5", "10", "20", "30", "40", "50"]}),
    Stream("events", "activities/Events", "ID", {
        "ID": "id", "Subject": "text", "StartDate": "datetime", "EndDate": "datetime", "Location": "text",
        "Account": "id", "Contact": "id", "Opportunity": "id", "User": "id", "UserFullName": "text",
        "Notes": "text", **_STAMPS},
        delta="modified", references={**_LINKS, "User": "users.UserID"}),
    Stream("communication_notes", "activities/CommunicationNotes", "ID", {
        "ID": "id", "Type": "picklist", "Subject": "text", "Notes": "text", "Account": "id", "Contact": "id",
        "Opportunity": "id", "Created": "datetime", "Creator": "id", "CreatorFullName": "text",
        "Modified": "datetime"},
        delta="modified", references={**_LINKS, "Creator": "users.UserID"},
        picklists={"Type": ["Call", "Email", "Note"]}),
    Stream("documents", "sync/Documents/Documents", "ID", {
        "ID": "id", "Subject": "text", "Type": "picklist", "TypeDescription": "text", "Account": "id",
        "Contact": "id", "Opportunity": "id", "DocumentDate": "date", "Creator": "id", **_STAMPS},
        delta="sync", references={**_LINKS, "Creator": "users.UserID"}),
    Stream("document_attachments", "sync/Documents/DocumentAttachments", "ID", {
        "ID": "id", "Document": "id", "FileName": "text", "FileSize": "number", "Url": "text"},
        delta="sync", references={"Document": "documents.ID"}, updated=None),
    Stream("free_fields", "read/crm/FreeFields", "ID", {
        "ID": "id", "Entity": "text", "Field": "text", "Label": "text", "DataType": "text"},
        delta="full", optional=True, table=False, updated=None),
    Stream("workflows", "read/crm/Workflows", "ID", {
        "ID": "id", "Name": "text", "Category": "text", "Trigger": "text", "Steps": "text", "Active": "flag",
        **_STAMPS}, delta="full", optional=True, table=False),
    Stream("email_templates", "read/crm/EmailTemplates", "ID", {
        "ID": "id", "Name": "text", "Subject": "text", "Body": "text", **_STAMPS},
        delta="full", optional=True, table=False),
    # last, so deletions made while the other streams were read are still seen (§6)
    Stream("deleted", "sync/Deleted", "EntityKey", {
        "EntityKey": "id", "EntityType": "number", "DeletedBy": "id", "DeletedDate": "datetime",
        "Division": "number"}, delta="sync", table=False, updated=None),
)

#: sync/Deleted EntityType -> the object it removes from (§6; 3 = addresses, which we do not read)
DELETED_ENTITY_TYPES = {2: "accounts", 4: "document_attachments", 5: "contacts", 6: "documents"}


def stream(name: str) -> Stream:
    return next(s for s in STREAMS if s.name == name)
