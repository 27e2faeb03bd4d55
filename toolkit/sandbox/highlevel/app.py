"""The HighLevel API v2 sandbox: a Starlette app over :class:`~.state.State`.

Every vendor route passes the same gate, in the order the real API appears to apply them:
bearer token (401), rate limits (429, counted per location, §2), ``Version`` header (400, §1),
the vendor OpenAPI spec (404 for unknown paths, 422 for invalid requests), undeclared body
properties (422, §1/issue #262), then the handler's business rules. Every response carries the
five ``X-RateLimit-*`` headers (§2) and JSON bodies carry a ``traceId`` (§1).
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._server import STATE_PREFIX, FaultPlan, RateDecision, RateWindow, VirtualClock
from . import validation
from .search import search_contacts, search_opportunities
from .state import ApiError, State

__all__ = ["create_app", "VERSION", "Context"]

VERSION = "2021-07-28"  # every endpoint we serve (calendars would be 2021-04-15, §1)

Handler = Callable[[Request, Any], Awaitable[tuple[int, Any]]]


@dataclass
class Context:
    """What the app needs besides its routes."""

    state: State
    token: str
    window: RateWindow
    clock: VirtualClock
    faults: FaultPlan | None = None
    retry_after: bool = True  # whether 429s carry Retry-After (undocumented upstream, §2)


def _rate_headers(ctx: Context, d: RateDecision) -> dict[str, str]:
    # The interval is reported in real milliseconds so a client pacing from it keeps pace with
    # a sped-up (time_scale) sandbox; at time_scale 1 it is the vendor's 10000.
    return {
        "X-RateLimit-Limit-Daily": str(d.daily_limit),
        "X-RateLimit-Daily-Remaining": str(d.daily_remaining),
        "X-RateLimit-Interval-Milliseconds": str(int(round(ctx.clock.to_real(ctx.window.window) * 1000))),
        "X-RateLimit-Max": str(d.burst_max),
        "X-RateLimit-Remaining": str(d.burst_remaining),
    }


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, dict):
        body = {**body, "traceId": str(uuid.uuid4())}
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(ctx: Context) -> Starlette:
    """Build the Starlette app serving ``ctx.state``."""
    state = ctx.state

    def endpoint(handler: Handler | None, pattern: str, method: str, *, strict_body: bool = False):
        async def run(request: Request) -> Response:
            # 1. auth: the configured bearer token or 401 (UnauthorizedDTO shape)
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:].strip() != ctx.token:
                msg = "Invalid token: access token is invalid" if auth else "Unauthorized: no bearer token"
                return _json(401, ApiError(401, msg).body())
            # 2. rate limits, per location
            d = ctx.window.hit()
            if d.allowed and ctx.faults is not None and ctx.faults.draw(ctx.faults.p429):
                d = RateDecision(False, d.burst_max, d.burst_remaining, d.daily_limit, d.daily_remaining,
                                 ctx.window.window / 10, "fault")
            headers = _rate_headers(ctx, d)
            if not d.allowed:
                if ctx.retry_after:
                    real = ctx.clock.to_real(d.retry_after)
                    # integer seconds in real time (HTTP), fractional only when sped up for tests
                    headers["Retry-After"] = str(max(1, math.ceil(real))) if ctx.clock.time_scale == 1 else f"{real:.3f}"
                msg = "Daily request limit reached" if d.reason == "daily" else "Too many requests"
                return _json(429, ApiError(429, msg).body(), headers)
            try:
                # 3. Version header (§1: required on every call, an enum per spec)
                version = request.headers.get("version")
                if version is None:
                    raise ApiError(400, "Version header was not found")
                if version != VERSION:
                    raise ApiError(400, f"Version header {version!r} is not supported; this endpoint requires {VERSION}")
                raw = await request.body()
                # 4. the vendor spec
                if handler is None:
                    raise ApiError(404, f"Cannot {request.method} {request.url.path}")
                errors = validation.request_errors(request.method, request.url.path,
                                                   request.query_params.multi_items(), dict(request.headers), raw)
                if errors is None:
                    raise ApiError(404, f"Cannot {request.method} {request.url.path}")
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    raise ApiError(400, "Request body is not valid JSON") from None
                # 5. undeclared properties: openapi-core allows them, the vendor does not
                unknown = validation.unknown_properties(pattern, method, body) if strict_body else []
                if errors or unknown:
                    raise ApiError(422, unknown + errors)
                status, payload = await handler(request, body)
            except ApiError as e:
                return _json(e.status, e.body(), headers)
            return _json(status, payload, headers)

        return run

    # --- handlers: (request, body) -> (status, payload) -----------------------------------
    async def location_get(request, body):
        state.check_location(request.path_params["locationId"])
        return 200, {"location": state.location}

    async def cf_create(request, body):
        state.check_location(request.path_params["locationId"])
        return 201, {"customField": state.create_custom_field(body)}

    async def cf_list(request, body):
        state.check_location(request.path_params["locationId"])
        return 200, {"customFields": state.list_custom_fields(request.query_params.get("model"))}

    async def cf_delete(request, body):
        state.check_location(request.path_params["locationId"])
        state.delete_custom_field(request.path_params["id"])
        return 200, {"succeded": True}

    async def contact_create(request, body):
        return 201, {"contact": state.create_contact(body)}

    async def contact_upsert(request, body):
        new, contact = state.upsert_contact(body)
        return 200, {"new": new, "contact": contact}

    async def contact_get(request, body):
        return 200, {"contact": state.get_contact(request.path_params["contactId"])}

    async def contact_update(request, body):
        return 200, {"succeded": True, "contact": state.update_contact(request.path_params["contactId"], body)}

    async def contact_delete(request, body):
        state.delete_contact(request.path_params["contactId"])
        return 200, {"succeded": True}

    async def contact_search(request, body):
        return 200, search_contacts(state, body)

    async def contact_duplicate(request, body):
        q = request.query_params
        state.check_location(q.get("locationId"))
        dup, _ = state.find_duplicate(q.get("email"), q.get("number"))
        return 200, {"contact": state.render_contact(dup) if dup else None}

    async def pipelines(request, body):
        state.check_location(request.query_params.get("locationId"))
        return 200, {"pipelines": state.pipelines}

    async def opp_create(request, body):
        return 201, {"opportunity": state.create_opportunity(body)}

    async def opp_get(request, body):
        return 200, {"opportunity": state.get_opportunity(request.path_params["id"])}

    async def opp_update(request, body):
        return 200, {"opportunity": state.update_opportunity(request.path_params["id"], body)}

    async def opp_delete(request, body):
        state.delete_opportunity(request.path_params["id"])
        return 200, {"succeded": True}

    async def opp_search(request, body):
        base = f"{request.url.scheme}://{request.url.netloc}"
        return 200, search_opportunities(state, dict(request.query_params), base)

    async def users(request, body):
        state.check_location(request.query_params.get("locationId"))
        return 200, {"users": state.users}

    # --- sandbox control: no auth, no rate limit, no faults --------------------------------
    async def dump(request):
        return JSONResponse(state.dump())

    async def reset(request):
        state.reset()
        return JSONResponse({"reset": True})

    table: list[tuple[str, str, Handler, bool]] = [
        ("GET", "/locations/{locationId}", location_get, False),
        ("POST", "/locations/{locationId}/customFields", cf_create, False),
        ("GET", "/locations/{locationId}/customFields", cf_list, False),
        ("DELETE", "/locations/{locationId}/customFields/{id}", cf_delete, False),
        ("POST", "/contacts/", contact_create, True),
        ("POST", "/contacts/upsert", contact_upsert, True),
        ("POST", "/contacts/search", contact_search, False),
        ("GET", "/contacts/search/duplicate", contact_duplicate, False),
        ("GET", "/contacts/{contactId}", contact_get, False),
        ("PUT", "/contacts/{contactId}", contact_update, True),
        ("DELETE", "/contacts/{contactId}", contact_delete, False),
        ("GET", "/opportunities/pipelines", pipelines, False),
        ("GET", "/opportunities/search", opp_search, False),
        ("POST", "/opportunities/", opp_create, True),
        ("GET", "/opportunities/{id}", opp_get, False),
        ("PUT", "/opportunities/{id}", opp_update, True),
        ("DELETE", "/opportunities/{id}", opp_delete, False),
        ("GET", "/users/", users, False),
    ]
    routes = [Route(STATE_PREFIX + "state", dump, methods=["GET"]),
              Route(STATE_PREFIX + "reset", reset, methods=["POST"])]
    by_path: dict[str, list[tuple[str, Handler, bool]]] = {}
    for method, pattern, handler, strict in table:
        by_path.setdefault(pattern, []).append((method, handler, strict))
    for pattern, ops in by_path.items():
        routes.append(Route(pattern, _dispatch({m: endpoint(h, pattern, m, strict_body=s) for m, h, s in ops},
                                               endpoint(None, pattern, "GET")),
                            methods=["GET", "POST", "PUT", "DELETE", "PATCH"]))
    # Anything else still passes auth and rate limits, then gets the vendor's NestJS-style 404.
    routes.append(Route("/{rest:path}", endpoint(None, "", "GET"), methods=["GET", "POST", "PUT", "DELETE", "PATCH"]))
    return Starlette(routes=routes)


def _dispatch(by_method: dict[str, Callable], fallback: Callable):
    async def run(request: Request) -> Response:
        return await by_method.get(request.method, fallback)(request)
    return run
