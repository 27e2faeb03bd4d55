"""The Pipedrive sandbox: a Starlette app over :class:`~.model.State`.

Every vendor route passes the same gate: credentials (``x-api-token`` header or OAuth ``Bearer``,
§1; 401 in the spec's shape otherwise), the operation lookup (404 for what the vendor does not
serve under that version, §3), the token budget and burst windows (429, §2), the vendor spec
(400 for invalid requests), undeclared body properties (400), then the handler's business rules.
Every authenticated response carries the rate-limit headers of §2.5; bodies use the vendor's
envelope ``{success, data, additional_data}`` (§7).
"""

from __future__ import annotations

import email.parser
import email.policy
import functools
import hashlib
import json
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .._server import STATE_PREFIX, FaultPlan, VirtualClock
from . import validation
from .model import State
from .rates import TokenBudget, Verdict
from .search import search
from .state import ApiError

__all__ = ["create_app", "Context"]

#: legacy POST/PUT fair-usage counter reported in ``x-daily-requests-left`` (§2.5: 10,000 per
#: user per UTC day, API-token requests only). Reported, not enforced: the token budget is the
#: limit that applies now (§2.1).
POST_PUT_PER_DAY = 10_000

Handler = Callable[[Request, Any, dict], Awaitable[tuple[int, Any, Any]]]


@dataclass
class Context:
    """What the app needs besides its routes."""

    state: State
    token: str
    oauth_token: str
    budget: TokenBudget
    clock: VirtualClock
    faults: FaultPlan | None = None
    retry_after: bool = True  # Retry-After is "not in current docs; some clients observe it" (§2.5)
    block_after: int | None = None  # 403 after this many ignored 429s in a row (§2.5, [3p])
    _refused: dict[str, int] = field(default_factory=dict)
    _writes: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)


def _seconds(ctx: Context, virtual: float) -> str:
    # real seconds, so a client pacing from the header keeps pace with a sped-up sandbox;
    # whole seconds at real time as the vendor's doc example ("2"), fractions when sped up
    real = ctx.clock.to_real(virtual)
    return str(max(1, math.ceil(real))) if ctx.clock.time_scale == 1 else f"{real:.3f}"


def _rate_headers(ctx: Context, v: Verdict) -> dict[str, str]:
    return {"x-ratelimit-limit": str(v.limit), "x-ratelimit-remaining": str(v.remaining),
            "x-ratelimit-reset": _seconds(ctx, v.reset),
            "x-daily-ratelimit-token-limit": str(v.daily_limit),
            "x-daily-ratelimit-token-remaining": str(v.daily_remaining)}


def _envelope(data: Any, additional: Any = None) -> dict:
    body = {"success": True, "data": data}
    if additional is not None:
        body["additional_data"] = additional
    return body


def _parse_multipart(raw: bytes, content_type: str) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """(text fields, (filename, bytes) of the ``file`` part) from a multipart/form-data body."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + raw)
    fields: dict[str, str] = {}
    upload = None
    if not msg.is_multipart():
        raise ApiError(400, "Request body must be multipart/form-data")
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "file":
            upload = (part.get_filename() or "", payload)
        elif name:
            fields[name] = payload.decode("utf-8", "replace")
    return fields, upload


def create_app(ctx: Context) -> Starlette:
    """Build the Starlette app serving ``ctx.state``."""
    state = ctx.state
    table: dict[tuple[str, str, str], tuple[Handler, bool]] = {}

    def route(version: str, method: str, template: str, strict: bool = False):
        def deco(fn: Handler) -> Handler:
            table[(version, method, template)] = (fn, strict)
            return fn
        return deco

    def pid(params: dict, name: str = "id") -> int:
        return int(params[name])

    def resource(version: str, path: str, *, create=None, listing=None, read=None, update=None, delete=None,
                 key=pid, item: str = "{id}", created: int = 200, update_method: str = "PATCH") -> None:
        """Register the usual routes of one collection: each given state method answers one.

        ``listing`` returns ``(data, additional_data)``; the others return the record. ``item`` is
        the spec's name for the record's path segment, and ``key`` turns the path parameters into
        the state's id (Pipedrive ids are numbers; lead ids are UUID strings)."""
        if create is not None:
            route(version, "POST", path, strict=True)(
                lambda request, body, params: _done(created, create(body)))
        if listing is not None:
            route(version, "GET", path)(lambda request, body, params: _done(200, *listing(dict(request.query_params))))
        item = f"{path}/{item}"
        if read is not None:
            route(version, "GET", item)(lambda request, body, params: _done(200, read(key(params))))
        if update is not None:
            route(version, update_method, item, strict=True)(
                lambda request, body, params: _done(200, update(key(params), body or {})))
        if delete is not None:
            route(version, "DELETE", item)(lambda request, body, params: _done(200, delete(key(params))))

    # --- v2: persons, organizations, deals, activities ----------------------------------------
    for entity, plural in (("person", "persons"), ("organization", "organizations"), ("deal", "deals")):
        get = getattr(state, f"get_{entity}")
        resource("v2", f"/{plural}", create=getattr(state, f"add_{entity}"), listing=getattr(state, f"list_{plural}"),
                 update=getattr(state, f"update_{entity}"), delete=getattr(state, f"delete_{entity}"))
        # a read may ask for custom fields by key (``?custom_fields=k1,k2``)
        route("v2", "GET", f"/{plural}/{{id}}")(
            lambda request, body, params, get=get: _done(200, get(pid(params), request.query_params.get("custom_fields"))))
    for plural in ("persons", "organizations", "deals", "leads"):
        route("v2", "GET", f"/{plural}/search")(
            lambda request, body, params, plural=plural: _done(200, *search(state, plural, dict(request.query_params))))
    resource("v2", "/activities", create=state.add_activity, listing=state.list_activities, read=state.get_activity,
             update=state.update_activity, delete=state.delete_activity)

    # --- v2: pipelines and stages -----------------------------------------------------------
    resource("v2", "/pipelines", create=state.add_pipeline, listing=state.list_pipelines, read=state.get_pipeline,
             update=state.update_pipeline, delete=state.delete_pipeline)
    resource("v2", "/stages", create=state.add_stage, listing=state.list_stages, read=state.get_stage,
             update=state.update_stage, delete=state.delete_stage)

    # --- v2: person/organization/deal fields ----------------------------------------------------
    for entity, endpoint in (("person", "personFields"), ("organization", "organizationFields"),
                             ("deal", "dealFields")):
        resource("v2", f"/{endpoint}", create=functools.partial(state.add_field, entity),
                 listing=functools.partial(state.list_fields_page, entity),
                 read=functools.partial(state.get_field, entity), update=functools.partial(state.update_field, entity),
                 delete=functools.partial(state.delete_field, entity), key=lambda params: params["field_code"],
                 item="{field_code}")
        for method, change in (("POST", state.add_options), ("PATCH", state.update_options),
                               ("DELETE", state.delete_options)):
            route("v2", method, f"/{endpoint}/{{field_code}}/options")(
                lambda request, body, params, change=change, entity=entity:
                _done(200, change(entity, params["field_code"], body)))

    # --- v1: leads, lead labels and fields ------------------------------------------------------
    resource("v1", "/leads", create=state.add_lead, listing=state.list_leads, read=state.get_lead,
             update=state.update_lead, delete=state.delete_lead, key=lambda params: params["id"], created=201)

    @route("v1", "GET", "/leadLabels")
    async def lead_labels(request, body, params):
        return 200, state.lead_labels, None

    @route("v1", "GET", "/leadFields")
    async def lead_fields(request, body, params):
        data = state.lead_fields()
        return 200, data, {"start": 0, "limit": len(data), "more_items_in_collection": False}

    # --- v1: notes and files ------------------------------------------------------------------
    resource("v1", "/notes", create=state.add_note, listing=state.list_notes, read=state.get_note,
             update=state.update_note, delete=state.delete_note, update_method="PUT")

    @route("v1", "POST", "/files")
    async def file_create(request, body, params):
        fields, upload = body
        if upload is None:
            raise ApiError(400, "file is required")
        links: dict[str, Any] = {}
        for k, v in fields.items():
            if k not in ("deal_id", "person_id", "org_id", "product_id", "activity_id", "lead_id", "project_id"):
                raise ApiError(400, f"Unknown property '{k}'")
            links[k] = v if k == "lead_id" else int(v)
        return 200, state.add_file(upload[0], upload[1], links), None

    # file updates carry no schema of their own to check (not strict), so PUT is registered apart
    resource("v1", "/files", listing=state.list_files, read=state.get_file, delete=state.delete_file)
    route("v1", "PUT", "/files/{id}")(lambda request, body, params: _done(200, state.update_file(pid(params), body or {})))

    @route("v1", "GET", "/files/{id}/download")
    async def file_download(request, body, params):
        return 200, state.download_file(pid(params)), None

    # --- v1: users and activity types --------------------------------------------------------
    resource("v1", "/users", create=state.add_user, read=state.get_user, update=state.update_user,
             update_method="PUT")

    @route("v1", "GET", "/users")
    async def user_list(request, body, params):
        return 200, [state.render_user(u) for u in state.users], None

    @route("v1", "GET", "/users/me")
    async def user_me(request, body, params):
        return 200, state.me_body(), None

    resource("v1", "/activityTypes", create=state.add_activity_type, update=state.update_activity_type,
             delete=state.delete_activity_type, update_method="PUT")

    @route("v1", "GET", "/activityTypes")
    async def type_list(request, body, params):
        return 200, [t for t in state.activity_types.values() if t["active_flag"]], None

    # --- the gate -------------------------------------------------------------------------------
    def credentials(request: Request) -> tuple[str, bool] | None:
        token = request.headers.get("x-api-token")
        if token is not None:
            return (token, False) if token == ctx.token else None
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer ") and auth[7:].strip() == ctx.oauth_token:
            return auth[7:].strip(), True
        return None

    def charge(token: str, oauth: bool, cost: int, is_search: bool) -> tuple[Verdict, Response | None]:
        key = hashlib.sha256(token.encode()).hexdigest()[:16]  # never keep the token itself as a key
        v = ctx.budget.charge(key, oauth=oauth, cost=cost, search=is_search)
        if v.allowed and ctx.faults is not None and ctx.faults.draw(ctx.faults.p429):
            v = Verdict(False, v.limit, v.remaining, ctx.budget.window / 4, v.daily_limit, v.daily_remaining, "fault")
        with ctx._lock:
            if v.allowed:
                ctx._refused[key] = 0
                return v, None
            ctx._refused[key] = ctx._refused.get(key, 0) + 1
            blocked = ctx.block_after is not None and ctx._refused[key] > ctx.block_after
        if blocked:
            # persistent abuse: a Cloudflare HTML page, not JSON (§2.5, [3p])
            return v, HTMLResponse("<html><head><title>Attention Required! | Cloudflare</title></head>"
                                   "<body><h1>Sorry, you have been blocked</h1></body></html>", status_code=403)
        headers = _rate_headers(ctx, v)
        if ctx.retry_after:
            headers["Retry-After"] = _seconds(ctx, v.reset)
        msg = ("Daily API token budget exhausted for this company; it resets at midnight"
               if v.reason == "daily" else "Request over limit")
        return v, JSONResponse(ApiError(429, msg, errorCode=429).body(), status_code=429, headers=headers)

    async def gate(request: Request) -> Response:
        version, inner = validation.split_version(request.url.path)
        cred = credentials(request)
        if cred is None:
            return JSONResponse(ApiError(401, "unauthorized access").body(), status_code=401)
        found = validation.operation(version, request.method, inner) if version else None
        entry = table.get((version, request.method, found[0])) if found else None
        if found is None or entry is None:
            return JSONResponse(ApiError(404, f"Unknown method {request.method} {request.url.path}").body(),
                                status_code=404)
        template, op = found
        handler, strict = entry
        verdict, refused = charge(cred[0], cred[1], int(op.get("x-token-cost", 0)), inner.endswith("/search"))
        if refused is not None:
            return refused
        headers = _rate_headers(ctx, verdict)
        if request.method in ("POST", "PUT") and not cred[1]:
            with ctx._lock:
                n = ctx._writes[cred[0]] = ctx._writes.get(cred[0], 0) + 1
            headers["x-daily-requests-left"] = str(max(0, POST_PUT_PER_DAY - n))
        try:
            raw = await request.body()
            errors = validation.request_errors(version, request.method, inner, request.query_params.multi_items(),
                                               dict(request.headers), raw)
            if errors is None:
                raise ApiError(404, f"Unknown method {request.method} {request.url.path}")
            ctype = request.headers.get("content-type", "")
            body: Any = None
            if raw and ctype.startswith("multipart/form-data"):
                body = _parse_multipart(raw, ctype)
            elif raw and ctype.startswith("application/x-www-form-urlencoded"):
                body = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            elif raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Request body is not valid JSON") from None
            unknown = []
            if strict:
                extra = state.v1_custom_keys("deal") if (version, template) == ("v1", "/leads") or \
                    (version, template) == ("v1", "/leads/{id}") else ()
                unknown = validation.unknown_properties(version, request.method, template, body, extra)
            if errors or unknown:
                raise ApiError(400, "Validation failed: " + "; ".join(unknown + errors))
            params = _path_params(template, inner)
            status, data, additional = await handler(request, body, params)
        except ApiError as e:
            return JSONResponse(e.body(), status_code=e.status, headers=headers)
        if isinstance(data, bytes):
            return Response(data, status_code=status, headers=headers, media_type="application/octet-stream")
        return JSONResponse(_envelope(data, additional), status_code=status, headers=headers)

    async def dump(request: Request) -> Response:
        return JSONResponse({**state.dump(), "tokens_spent_today": ctx.budget.spent()})

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    return Starlette(routes=[
        Route(STATE_PREFIX + "state", dump, methods=["GET"]),
        Route(STATE_PREFIX + "reset", reset, methods=["POST"]),
        Route("/{rest:path}", gate, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ])


async def _done(status: int, data: Any, additional: Any = None) -> tuple[int, Any, Any]:
    """A handler's answer, awaitable as the gate expects."""
    return status, data, additional


def _path_params(template: str, inner: str) -> dict[str, str]:
    out = {}
    for t, v in zip(template.strip("/").split("/"), inner.strip("/").split("/")):
        if t.startswith("{") and t.endswith("}"):
            out[t[1:-1]] = v
    return out
