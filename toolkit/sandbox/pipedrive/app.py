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

    # --- v2: persons, organizations, deals, activities ----------------------------------------
    for entity, plural in (("person", "persons"), ("organization", "organizations"), ("deal", "deals")):
        def make(entity=entity, plural=plural):
            add, upd = getattr(state, f"add_{entity}"), getattr(state, f"update_{entity}")
            get, dele = getattr(state, f"get_{entity}"), getattr(state, f"delete_{entity}")
            lst = getattr(state, f"list_{plural}")

            @route("v2", "POST", f"/{plural}", strict=True)
            async def create(request, body, params):
                return 200, add(body), None

            @route("v2", "GET", f"/{plural}")
            async def listing(request, body, params):
                data, extra = lst(dict(request.query_params))
                return 200, data, extra

            @route("v2", "GET", f"/{plural}/{{id}}")
            async def read(request, body, params):
                return 200, get(pid(params), request.query_params.get("custom_fields")), None

            @route("v2", "PATCH", f"/{plural}/{{id}}", strict=True)
            async def update(request, body, params):
                return 200, upd(pid(params), body or {}), None

            @route("v2", "DELETE", f"/{plural}/{{id}}")
            async def delete(request, body, params):
                return 200, dele(pid(params)), None

            @route("v2", "GET", f"/{plural}/search")
            async def find(request, body, params):
                data, extra = search(state, plural, dict(request.query_params))
                return 200, data, extra
        make()

    @route("v2", "GET", "/leads/search")
    async def lead_search(request, body, params):
        data, extra = search(state, "leads", dict(request.query_params))
        return 200, data, extra

    @route("v2", "POST", "/activities", strict=True)
    async def act_create(request, body, params):
        return 200, state.add_activity(body), None

    @route("v2", "GET", "/activities")
    async def act_list(request, body, params):
        data, extra = state.list_activities(dict(request.query_params))
        return 200, data, extra

    @route("v2", "GET", "/activities/{id}")
    async def act_get(request, body, params):
        return 200, state.get_activity(pid(params)), None

    @route("v2", "PATCH", "/activities/{id}", strict=True)
    async def act_update(request, body, params):
        return 200, state.update_activity(pid(params), body or {}), None

    @route("v2", "DELETE", "/activities/{id}")
    async def act_delete(request, body, params):
        return 200, state.delete_activity(pid(params)), None

    # --- v2: pipelines and stages -----------------------------------------------------------
    @route("v2", "GET", "/pipelines")
    async def pipe_list(request, body, params):
        data, extra = state.list_pipelines(dict(request.query_params))
        return 200, data, extra

    @route("v2", "POST", "/pipelines", strict=True)
    async def pipe_create(request, body, params):
        return 200, state.add_pipeline(body), None

    @route("v2", "GET", "/pipelines/{id}")
    async def pipe_get(request, body, params):
        return 200, state.get_pipeline(pid(params)), None

    @route("v2", "PATCH", "/pipelines/{id}", strict=True)
    async def pipe_update(request, body, params):
        return 200, state.update_pipeline(pid(params), body or {}), None

    @route("v2", "DELETE", "/pipelines/{id}")
    async def pipe_delete(request, body, params):
        return 200, state.delete_pipeline(pid(params)), None

    @route("v2", "GET", "/stages")
    async def stage_list(request, body, params):
        data, extra = state.list_stages(dict(request.query_params))
        return 200, data, extra

    @route("v2", "POST", "/stages", strict=True)
    async def stage_create(request, body, params):
        return 200, state.add_stage(body), None

    @route("v2", "GET", "/stages/{id}")
    async def stage_get(request, body, params):
        return 200, state.get_stage(pid(params)), None

    @route("v2", "PATCH", "/stages/{id}", strict=True)
    async def stage_update(request, body, params):
        return 200, state.update_stage(pid(params), body or {}), None

    @route("v2", "DELETE", "/stages/{id}")
    async def stage_delete(request, body, params):
        return 200, state.delete_stage(pid(params)), None

    # --- v2: person/organization/deal fields ----------------------------------------------------
    for entity, endpoint in (("person", "personFields"), ("organization", "organizationFields"),
                             ("deal", "dealFields")):
        def make_fields(entity=entity, endpoint=endpoint):
            @route("v2", "GET", f"/{endpoint}")
            async def f_list(request, body, params):
                data, extra = state.list_fields_page(entity, dict(request.query_params))
                return 200, data, extra

            @route("v2", "POST", f"/{endpoint}", strict=True)
            async def f_create(request, body, params):
                return 200, state.add_field(entity, body), None

            @route("v2", "GET", f"/{endpoint}/{{field_code}}")
            async def f_get(request, body, params):
                return 200, state.get_field(entity, params["field_code"]), None

            @route("v2", "PATCH", f"/{endpoint}/{{field_code}}", strict=True)
            async def f_update(request, body, params):
                return 200, state.update_field(entity, params["field_code"], body or {}), None

            @route("v2", "DELETE", f"/{endpoint}/{{field_code}}")
            async def f_delete(request, body, params):
                return 200, state.delete_field(entity, params["field_code"]), None

            @route("v2", "POST", f"/{endpoint}/{{field_code}}/options")
            async def o_add(request, body, params):
                return 200, state.add_options(entity, params["field_code"], body), None

            @route("v2", "PATCH", f"/{endpoint}/{{field_code}}/options")
            async def o_update(request, body, params):
                return 200, state.update_options(entity, params["field_code"], body), None

            @route("v2", "DELETE", f"/{endpoint}/{{field_code}}/options")
            async def o_delete(request, body, params):
                return 200, state.delete_options(entity, params["field_code"], body), None
        make_fields()

    # --- v1: leads, lead labels and fields ------------------------------------------------------
    @route("v1", "POST", "/leads", strict=True)
    async def lead_create(request, body, params):
        return 201, state.add_lead(body), None

    @route("v1", "GET", "/leads")
    async def lead_list(request, body, params):
        data, extra = state.list_leads(dict(request.query_params))
        return 200, data, extra

    @route("v1", "GET", "/leads/{id}")
    async def lead_get(request, body, params):
        return 200, state.get_lead(params["id"]), None

    @route("v1", "PATCH", "/leads/{id}", strict=True)
    async def lead_update(request, body, params):
        return 200, state.update_lead(params["id"], body or {}), None

    @route("v1", "DELETE", "/leads/{id}")
    async def lead_delete(request, body, params):
        return 200, state.delete_lead(params["id"]), None

    @route("v1", "GET", "/leadLabels")
    async def lead_labels(request, body, params):
        return 200, state.lead_labels, None

    @route("v1", "GET", "/leadFields")
    async def lead_fields(request, body, params):
        data = state.lead_fields()
        return 200, data, {"start": 0, "limit": len(data), "more_items_in_collection": False}

    # --- v1: notes and files ------------------------------------------------------------------
    @route("v1", "POST", "/notes", strict=True)
    async def note_create(request, body, params):
        return 200, state.add_note(body), None

    @route("v1", "GET", "/notes")
    async def note_list(request, body, params):
        data, extra = state.list_notes(dict(request.query_params))
        return 200, data, extra

    @route("v1", "GET", "/notes/{id}")
    async def note_get(request, body, params):
        return 200, state.get_note(pid(params)), None

    @route("v1", "PUT", "/notes/{id}", strict=True)
    async def note_update(request, body, params):
        return 200, state.update_note(pid(params), body or {}), None

    @route("v1", "DELETE", "/notes/{id}")
    async def note_delete(request, body, params):
        return 200, state.delete_note(pid(params)), None

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

    @route("v1", "GET", "/files")
    async def file_list(request, body, params):
        data, extra = state.list_files(dict(request.query_params))
        return 200, data, extra

    @route("v1", "GET", "/files/{id}")
    async def file_get(request, body, params):
        return 200, state.get_file(pid(params)), None

    @route("v1", "PUT", "/files/{id}")
    async def file_update(request, body, params):
        return 200, state.update_file(pid(params), body or {}), None

    @route("v1", "DELETE", "/files/{id}")
    async def file_delete(request, body, params):
        return 200, state.delete_file(pid(params)), None

    @route("v1", "GET", "/files/{id}/download")
    async def file_download(request, body, params):
        return 200, state.download_file(pid(params)), None

    # --- v1: users and activity types --------------------------------------------------------
    @route("v1", "GET", "/users")
    async def user_list(request, body, params):
        return 200, [state.render_user(u) for u in state.users], None

    @route("v1", "POST", "/users", strict=True)
    async def user_create(request, body, params):
        return 200, state.add_user(body), None

    @route("v1", "GET", "/users/me")
    async def user_me(request, body, params):
        return 200, state.me_body(), None

    @route("v1", "GET", "/users/{id}")
    async def user_get(request, body, params):
        return 200, state.get_user(pid(params)), None

    @route("v1", "PUT", "/users/{id}", strict=True)
    async def user_update(request, body, params):
        return 200, state.update_user(pid(params), body), None

    @route("v1", "GET", "/activityTypes")
    async def type_list(request, body, params):
        return 200, [t for t in state.activity_types.values() if t["active_flag"]], None

    @route("v1", "POST", "/activityTypes", strict=True)
    async def type_create(request, body, params):
        return 200, state.add_activity_type(body), None

    @route("v1", "PUT", "/activityTypes/{id}", strict=True)
    async def type_update(request, body, params):
        return 200, state.update_activity_type(pid(params), body or {}), None

    @route("v1", "DELETE", "/activityTypes/{id}")
    async def type_delete(request, body, params):
        return 200, state.delete_activity_type(pid(params)), None

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


def _path_params(template: str, inner: str) -> dict[str, str]:
    out = {}
    for t, v in zip(template.strip("/").split("/"), inner.strip("/").split("/")):
        if t.startswith("{") and t.endswith("}"):
            out[t[1:-1]] = v
    return out
