"""The HighLevel sandbox's route table: (method, path pattern, handler, strict body).

Each handler takes ``(request, body)`` - ``body`` is the decoded JSON, or for multipart uploads
a :class:`Upload` - and returns ``(status, payload)``. "Strict" routes reject body properties
the spec does not declare (422, research §1 / issue #262). Paths and status codes follow the
vendor specs in ``specs/apps/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from starlette.requests import Request

from .search import search_contacts, search_opportunities
from .state import ApiError, State

__all__ = ["routes_for", "Upload", "Handler"]

Handler = Callable[[Request, Any], Awaitable[tuple[int, Any]]]


@dataclass
class Upload:
    """A parsed multipart body: text parts, and the one ``file`` part when present."""

    form: dict[str, str]
    file: tuple[str, str, bytes] | None  # (filename, content type, bytes)


def _int(value: str | None, default: int, name: str) -> int:
    try:
        return int(float(value)) if value not in (None, "") else default
    except ValueError:
        raise ApiError(422, [f"{name} must be a number"]) from None


def routes_for(state: State) -> list[tuple[str, str, Handler, bool]]:
    """Every vendor route the sandbox serves, bound to ``state``."""
    p = lambda request, name: request.path_params[name]  # noqa: E731 - keeps the handlers one-liners
    q = lambda request, name: request.query_params.get(name)  # noqa: E731

    # --- location, users -------------------------------------------------------------------
    async def location_get(r, b):
        state.check_location(p(r, "locationId"))
        return 200, {"location": state.location}

    async def users_by_location(r, b):  # deprecated, still served (research §4 "Users")
        state.check_location(q(r, "locationId"))
        return 200, {"users": state.users}

    async def users_search(r, b):
        return 200, state.search_users(dict(r.query_params))

    # --- location custom fields ------------------------------------------------------------
    async def cf_create(r, b):
        state.check_location(p(r, "locationId"))
        return 201, {"customField": state.create_custom_field(b)}

    async def cf_list(r, b):
        state.check_location(p(r, "locationId"))
        return 200, {"customFields": state.list_custom_fields(q(r, "model"))}

    async def cf_get(r, b):
        state.check_location(p(r, "locationId"))
        return 200, {"customField": state.get_custom_field(p(r, "id"))}

    async def cf_delete(r, b):
        state.check_location(p(r, "locationId"))
        state.delete_custom_field(p(r, "id"))
        return 200, {"succeded": True}

    # --- contacts, tags, business link -----------------------------------------------------
    async def contact_create(r, b):
        return 201, {"contact": state.create_contact(b)}

    async def contact_upsert(r, b):
        new, contact = state.upsert_contact(b)
        return 200, {"new": new, "contact": contact}

    async def contact_get(r, b):
        return 200, {"contact": state.get_contact(p(r, "contactId"))}

    async def contact_update(r, b):
        return 200, {"succeded": True, "contact": state.update_contact(p(r, "contactId"), b)}

    async def contact_delete(r, b):
        state.delete_contact(p(r, "contactId"))
        return 200, {"succeded": True}

    async def contact_search(r, b):
        return 200, search_contacts(state, b)

    async def contact_duplicate(r, b):
        state.check_location(q(r, "locationId"))
        dup, _ = state.find_duplicate(q(r, "email"), q(r, "number"))
        return 200, {"contact": state.render_contact(dup) if dup else None}

    async def tags_add(r, b):
        return 201, {"tags": state.change_tags(p(r, "contactId"), b["tags"], add=True)}

    async def tags_remove(r, b):
        return 200, {"tags": state.change_tags(p(r, "contactId"), b["tags"], add=False)}

    async def contacts_business(r, b):
        return 200, state.link_business(b)

    async def contacts_of_business(r, b):
        state.check_location(q(r, "locationId"))
        return 200, state.contacts_of_business(p(r, "businessId"), _int(q(r, "skip"), 0, "skip"),
                                               _int(q(r, "limit"), 25, "limit"))

    # --- tasks, notes ----------------------------------------------------------------------
    async def task_create(r, b):
        return 201, {"task": state.create_task(p(r, "contactId"), b)}

    async def task_list(r, b):
        return 200, {"tasks": state.tasks_of(p(r, "contactId"))}

    async def task_get(r, b):
        return 200, {"task": state.get_task(p(r, "contactId"), p(r, "taskId"))}

    async def task_update(r, b):
        return 200, {"task": state.update_task(p(r, "contactId"), p(r, "taskId"), b)}

    async def task_completed(r, b):
        return 200, {"task": state.update_task(p(r, "contactId"), p(r, "taskId"), {"completed": b["completed"]})}

    async def task_delete(r, b):
        state.delete_task(p(r, "contactId"), p(r, "taskId"))
        return 200, {"succeded": True}

    async def task_search(r, b):
        return 200, state.search_tasks(p(r, "locationId"), b or {})

    async def note_create(r, b):
        return 201, {"note": state.create_note(p(r, "contactId"), b)}

    async def note_list(r, b):
        return 200, {"notes": state.notes_of(p(r, "contactId"))}

    async def note_get(r, b):
        return 200, {"note": state.get_note(p(r, "contactId"), p(r, "id"))}

    async def note_update(r, b):
        return 200, {"note": state.update_note(p(r, "contactId"), p(r, "id"), b)}

    async def note_delete(r, b):
        state.delete_note(p(r, "contactId"), p(r, "id"))
        return 200, {"succeded": True}

    # --- opportunities, pipelines ----------------------------------------------------------
    async def pipelines(r, b):
        state.check_location(q(r, "locationId"))
        return 200, {"pipelines": state.pipelines}

    async def opp_create(r, b):
        return 201, {"opportunity": state.create_opportunity(b)}

    async def opp_get(r, b):
        return 200, {"opportunity": state.get_opportunity(p(r, "id"))}

    async def opp_update(r, b):
        return 200, {"opportunity": state.update_opportunity(p(r, "id"), b)}

    async def opp_delete(r, b):
        state.delete_opportunity(p(r, "id"))
        return 200, {"succeded": True}

    async def opp_search(r, b):
        return 200, search_opportunities(state, dict(r.query_params), f"{r.url.scheme}://{r.url.netloc}")

    # --- businesses --------------------------------------------------------------------------
    async def biz_create(r, b):
        return 201, {"success": True, "buiseness": state.create_business(b)}  # sic (research §8.4)

    async def biz_list(r, b):
        return 200, {"businesses": state.list_businesses(q(r, "locationId"), _int(q(r, "skip"), 0, "skip"),
                                                         _int(q(r, "limit"), 100, "limit"))}

    async def biz_get(r, b):
        return 200, {"business": state.get_business(p(r, "businessId"))}

    async def biz_update(r, b):
        return 200, {"success": True, "buiseness": state.update_business(p(r, "businessId"), b)}

    async def biz_delete(r, b):
        state.delete_business(p(r, "businessId"))
        return 200, {"success": True}

    # --- custom fields v2 and folders ------------------------------------------------------
    async def v2_create(r, b):
        return 201, {"field": state.create_field_v2(b)}

    async def v2_by_object(r, b):
        return 200, state.list_fields_v2(p(r, "objectKey"), q(r, "locationId"))

    async def v2_get(r, b):
        return 200, {"field": state.get_field_v2(p(r, "id"))}

    async def v2_update(r, b):
        return 200, {"field": state.update_field_v2(p(r, "id"), b)}

    async def v2_delete(r, b):
        return 200, state.delete_field_v2(p(r, "id"))

    async def folder_create(r, b):
        return 201, state.create_folder(b)

    async def folder_delete(r, b):
        return 200, state.delete_folder(p(r, "id"), q(r, "locationId"))

    # --- custom objects and records --------------------------------------------------------
    async def schema_create(r, b):
        return 201, {"object": state.create_schema(b)}

    async def schema_list(r, b):
        return 200, {"objects": state.list_schemas(q(r, "locationId"))}

    async def schema_get(r, b):
        return 200, state.get_schema(p(r, "key"), q(r, "locationId"), q(r, "fetchProperties") == "true")

    async def schema_update(r, b):
        return 200, {"object": state.update_schema(p(r, "key"), b)}

    async def record_create(r, b):
        return 201, {"record": state.create_record(p(r, "schemaKey"), b)}

    async def record_get(r, b):
        return 200, {"record": state.get_record(p(r, "schemaKey"), p(r, "id"))}

    async def record_update(r, b):
        return 200, {"record": state.update_record(p(r, "schemaKey"), p(r, "id"), q(r, "locationId"), b)}

    async def record_delete(r, b):
        return 200, state.delete_record(p(r, "schemaKey"), p(r, "id"))

    async def record_search(r, b):
        return 200, state.search_records(p(r, "schemaKey"), b)

    # --- associations and relations --------------------------------------------------------
    async def assoc_create(r, b):
        return 201, state.create_association(b)

    async def assoc_list(r, b):
        return 200, state.list_associations(q(r, "locationId"), _int(q(r, "skip"), 0, "skip"),
                                            _int(q(r, "limit"), 100, "limit"))

    async def assoc_by_key(r, b):
        return 200, state.association_by_key(p(r, "key_name"), q(r, "locationId"))

    async def assoc_get(r, b):
        with state.lock:
            return 200, state.association(p(r, "associationId"))

    async def assoc_delete(r, b):
        return 200, state.delete_association(p(r, "associationId"))

    async def rel_create(r, b):
        return 201, state.create_relation(b)

    async def rel_list(r, b):
        ids = [v for k, v in r.query_params.multi_items() if k == "associationIds"]
        return 200, state.relations_of(p(r, "recordId"), q(r, "locationId"), _int(q(r, "skip"), 0, "skip"),
                                       _int(q(r, "limit"), 100, "limit"), ids)

    async def rel_delete(r, b):
        return 200, state.delete_relation(p(r, "relationId"), q(r, "locationId"))

    # --- calendars (Version 2021-04-15) ----------------------------------------------------
    async def calendars(r, b):
        return 200, {"calendars": state.list_calendars(q(r, "locationId"))}

    async def event_create(r, b):
        return 200, state.create_event(b)  # 200, not 201 (apps/calendars.json)

    async def event_get(r, b):
        return 200, {"event": state.get_event(p(r, "eventId"))}

    async def event_update(r, b):
        return 200, state.update_event(p(r, "eventId"), b)

    async def event_delete(r, b):
        state.delete_event(p(r, "eventId"))
        return 201, {"succeeded": True}  # 201 and "succeeded" spelled right here (apps/calendars.json)

    async def events(r, b):
        return 200, {"events": state.list_events(dict(r.query_params))}

    async def schedule_create(r, b):
        return 201, state.create_schedule(b)

    async def schedule_search(r, b):
        return 200, state.search_schedules(dict(r.query_params))

    async def schedule_get(r, b):
        return 200, state.get_schedule(p(r, "id"))

    async def schedule_update(r, b):
        return 200, state.update_schedule(p(r, "id"), b)

    async def schedule_delete(r, b):
        return 200, state.delete_schedule(p(r, "id"))

    # --- media -----------------------------------------------------------------------------
    async def media_upload(r, b: Upload):
        return 200, state.upload_media(b.form, b.file, f"{r.url.scheme}://{r.url.netloc}")

    async def media_list(r, b):
        return 200, state.list_media(dict(r.query_params))

    async def media_rename(r, b):
        return 200, state.rename_media(p(r, "id"), b)

    async def media_delete(r, b):
        state.delete_media(p(r, "id"), q(r, "altType"), q(r, "altId"))
        return 200, {"success": True}

    return [
        ("GET", "/locations/{locationId}", location_get, False),
        ("POST", "/locations/{locationId}/customFields", cf_create, True),
        ("GET", "/locations/{locationId}/customFields", cf_list, False),
        ("GET", "/locations/{locationId}/customFields/{id}", cf_get, False),
        ("DELETE", "/locations/{locationId}/customFields/{id}", cf_delete, False),
        ("POST", "/locations/{locationId}/tasks/search", task_search, True),
        ("GET", "/users/", users_by_location, False),
        ("GET", "/users/search", users_search, False),
        ("POST", "/contacts/", contact_create, True),
        ("POST", "/contacts/upsert", contact_upsert, True),
        ("POST", "/contacts/search", contact_search, False),
        ("GET", "/contacts/search/duplicate", contact_duplicate, False),
        ("POST", "/contacts/bulk/business", contacts_business, True),
        ("GET", "/contacts/business/{businessId}", contacts_of_business, False),
        ("GET", "/contacts/{contactId}", contact_get, False),
        ("PUT", "/contacts/{contactId}", contact_update, True),
        ("DELETE", "/contacts/{contactId}", contact_delete, False),
        ("POST", "/contacts/{contactId}/tags", tags_add, True),
        ("DELETE", "/contacts/{contactId}/tags", tags_remove, True),
        ("POST", "/contacts/{contactId}/tasks", task_create, True),
        ("GET", "/contacts/{contactId}/tasks", task_list, False),
        ("GET", "/contacts/{contactId}/tasks/{taskId}", task_get, False),
        ("PUT", "/contacts/{contactId}/tasks/{taskId}", task_update, True),
        ("PUT", "/contacts/{contactId}/tasks/{taskId}/completed", task_completed, True),
        ("DELETE", "/contacts/{contactId}/tasks/{taskId}", task_delete, False),
        ("POST", "/contacts/{contactId}/notes", note_create, True),
        ("GET", "/contacts/{contactId}/notes", note_list, False),
        ("GET", "/contacts/{contactId}/notes/{id}", note_get, False),
        ("PUT", "/contacts/{contactId}/notes/{id}", note_update, True),
        ("DELETE", "/contacts/{contactId}/notes/{id}", note_delete, False),
        ("GET", "/opportunities/pipelines", pipelines, False),
        ("GET", "/opportunities/search", opp_search, False),
        ("POST", "/opportunities/", opp_create, True),
        ("GET", "/opportunities/{id}", opp_get, False),
        ("PUT", "/opportunities/{id}", opp_update, True),
        ("DELETE", "/opportunities/{id}", opp_delete, False),
        ("POST", "/businesses/", biz_create, True),
        ("GET", "/businesses/", biz_list, False),
        ("GET", "/businesses/{businessId}", biz_get, False),
        ("PUT", "/businesses/{businessId}", biz_update, True),
        ("DELETE", "/businesses/{businessId}", biz_delete, False),
        ("POST", "/custom-fields/", v2_create, True),
        ("POST", "/custom-fields/folder", folder_create, True),
        ("DELETE", "/custom-fields/folder/{id}", folder_delete, False),
        ("GET", "/custom-fields/object-key/{objectKey}", v2_by_object, False),
        ("GET", "/custom-fields/{id}", v2_get, False),
        ("PUT", "/custom-fields/{id}", v2_update, True),
        ("DELETE", "/custom-fields/{id}", v2_delete, False),
        ("POST", "/objects/", schema_create, True),
        ("GET", "/objects/", schema_list, False),
        ("GET", "/objects/{key}", schema_get, False),
        ("PUT", "/objects/{key}", schema_update, True),
        ("POST", "/objects/{schemaKey}/records", record_create, True),
        ("POST", "/objects/{schemaKey}/records/search", record_search, False),
        ("GET", "/objects/{schemaKey}/records/{id}", record_get, False),
        ("PUT", "/objects/{schemaKey}/records/{id}", record_update, True),
        ("DELETE", "/objects/{schemaKey}/records/{id}", record_delete, False),
        ("POST", "/associations/", assoc_create, True),
        ("GET", "/associations/", assoc_list, False),
        ("GET", "/associations/key/{key_name}", assoc_by_key, False),
        ("POST", "/associations/relations", rel_create, True),
        ("GET", "/associations/relations/{recordId}", rel_list, False),
        ("DELETE", "/associations/relations/{relationId}", rel_delete, False),
        ("GET", "/associations/{associationId}", assoc_get, False),
        ("DELETE", "/associations/{associationId}", assoc_delete, False),
        ("GET", "/calendars/", calendars, False),
        ("GET", "/calendars/events", events, False),
        ("POST", "/calendars/events/appointments", event_create, True),
        ("GET", "/calendars/events/appointments/{eventId}", event_get, False),
        ("PUT", "/calendars/events/appointments/{eventId}", event_update, True),
        ("DELETE", "/calendars/events/{eventId}", event_delete, False),
        ("POST", "/calendars/schedules", schedule_create, True),
        ("GET", "/calendars/schedules/search", schedule_search, False),
        ("GET", "/calendars/schedules/{id}", schedule_get, False),
        ("PUT", "/calendars/schedules/{id}", schedule_update, True),
        ("DELETE", "/calendars/schedules/{id}", schedule_delete, False),
        ("POST", "/medias/upload-file", media_upload, False),
        ("GET", "/medias/files", media_list, False),
        ("POST", "/medias/{id}", media_rename, True),
        ("DELETE", "/medias/{id}", media_delete, False),
    ]
