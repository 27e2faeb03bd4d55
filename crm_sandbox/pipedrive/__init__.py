"""Pipedrive API sandbox: one company, v1 and v2 side by side.

Serves persons, organizations, deals, activities, pipelines, stages and person/organization/deal
fields on ``/api/v2`` and leads, notes, files, users and activity types on ``/api/v1`` (and the
older ``/v1``), as the current API splits them (research pipedrive.md section 3), with the vendor's
bodies, errors, pagination, token budget and burst windows, validated against slices of the
vendor's own OpenAPI files (``specs/``). Start it through :func:`crm_sandbox.start`
(``start("pipedrive")``); :func:`build` is the registry hook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._server import FaultPlan, RequestLog, SandboxMiddleware, VirtualClock
from .app import Context, create_app
from .model import State
from .rates import TokenBudget
from .state import ERROR_INFO, load_seed

__all__ = ["build", "Built", "DEFAULT_TOKEN", "DEFAULT_OAUTH_TOKEN", "DEFAULT_COMPANY_DOMAIN"]

#: clearly fake credentials: an API token is 40 hex characters (§1); the OAuth one is opaque
DEFAULT_TOKEN = "0000000000000000000000000000000000sbx000"
DEFAULT_OAUTH_TOKEN = "sandbox-oauth-access-token-not-a-real-one"
DEFAULT_COMPANY_DOMAIN = "brightsmiles-sandbox"


@dataclass
class Built:
    """What :func:`crm_sandbox.start` needs to serve and describe the sandbox."""

    app: object
    state: State
    token: str
    location_id: str
    oauth_token: str = DEFAULT_OAUTH_TOKEN
    options: dict = field(default_factory=dict)


def build(*, token: str | None = None, location_id: str | None = None, seed: dict | str | None = None,
          time_scale: float = 1.0, faults: str | None = None, request_log: str | None = None,
          burst: int | None = None, daily: int | None = None, retry_after: bool = True,
          plan: str = "growth", seats: int = 5, company_domain: str | None = None,
          oauth_token: str | None = None, block_after: int | None = None, rng_seed: int = 0) -> Built:
    """Assemble the sandbox app (not yet serving). Options as :func:`crm_sandbox.start`, plus:

    Args:
        location_id: the company id to serve (default the seed's); reported as ``location_id``.
        daily: the daily token budget (default 30,000 x plan multiplier x seats, §2.2).
        burst: API-token requests per 2-second window (default the plan's, §2.4).
        plan: lite, growth, premium or ultimate (sets burst and the daily multiplier).
        seats: paid seats (multiplies the daily budget).
        company_domain: the ``<domain>.pipedrive.com`` subdomain reported by ``/users/me``.
        oauth_token: the OAuth access token accepted as ``Authorization: Bearer``.
        block_after: answer 403 (an HTML page) after this many ignored 429s in a row.
        rng_seed: seeds ids, field keys and fault draws, so runs are reproducible.
    """
    seed_data = load_seed(seed)
    if location_id is not None:
        if not str(location_id).isdigit():
            raise ValueError(f"a Pipedrive company id is a number, not {location_id!r}")
        seed_data["company"]["id"] = int(location_id)
    domain = company_domain or DEFAULT_COMPANY_DOMAIN
    state = State(seed_data, domain, rng_seed=rng_seed)
    clock = VirtualClock(time_scale)
    fault_plan = FaultPlan.parse(faults, seed=rng_seed) if faults else None
    budget = TokenBudget(clock, plan=plan, seats=seats, burst=burst, daily=daily,
                         enforce_factor=0.5 if fault_plan and fault_plan.burst429 else 1.0)
    ctx = Context(state=state, token=token or DEFAULT_TOKEN, oauth_token=oauth_token or DEFAULT_OAUTH_TOKEN,
                  budget=budget, clock=clock, faults=fault_plan, retry_after=retry_after, block_after=block_after)
    app = SandboxMiddleware(create_app(ctx), faults=fault_plan, log=RequestLog(request_log) if request_log else None,
                            error_body=lambda status: {"success": False, "error": "Service Unavailable",
                                                       "error_info": ERROR_INFO, "data": None,
                                                       "additional_data": None}, admin_token=ctx.token)
    options = {"company_domain": domain}
    if time_scale != 1.0:
        # the burst window is 2 s of sandbox time; tell the adapter how long that is for real
        options["burst_window"] = clock.to_real(budget.window)
    return Built(app=app, state=state, token=ctx.token, location_id=str(state.company["id"]),
                 oauth_token=ctx.oauth_token, options=options)
