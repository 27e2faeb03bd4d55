"""Freshsales (Freshworks CRM) API sandbox.

Serves contacts (leads are contacts in a lead lifecycle stage), sales accounts, deals with
pipelines and stages, tasks, appointments, notes, files, custom fields, owners and the other
selectors, single and bulk upserts with job statuses, and bulk deletes - with the vendor's
paths, ``Token token=`` auth, error bodies, pagination and per-hour/per-minute limits. Requests
are validated with the project's own schemas (:mod:`.schemas`; the vendor publishes none).
Start it through :func:`crm_sandbox.start` (``start("freshsales")``); :func:`build` is the
registry hook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .._server import FaultPlan, RequestLog, SandboxMiddleware, VirtualClock
from .app import Context, RateWindows, create_app
from .fields import ApiError
from .state import PLAN_HOURLY, State, load_seed

__all__ = ["build", "Built", "DEFAULT_TOKEN", "PER_MINUTE", "PLAN_HOURLY"]

#: a clearly fake API key (Freshsales keys are opaque strings, research freshsales.md §1)
DEFAULT_TOKEN = "sbx-freshsales-0000000000000000"
#: requests per minute per account on every paid plan (§2)
PER_MINUTE = 400


@dataclass
class Built:
    app: object
    state: State
    token: str
    location_id: str
    options: dict = field(default_factory=dict)


def build(*, token: str | None = None, location_id: str | None = None, seed: dict | str | None = None,
          time_scale: float = 1.0, faults: str | None = None, request_log: str | None = None,
          burst: int | None = None, daily: int | None = None, retry_after: bool = True,
          hourly: int | None = None, rng_seed: int = 0) -> Built:
    """Assemble the sandbox app (not yet serving). Options as :func:`crm_sandbox.start`.

    Args:
        location_id: the account's bundle alias (domain); default the seed's.
        burst: requests per minute (default 400, §2).
        daily: Freshsales has no daily limit (§2); passing one is an error.
        hourly: requests per hour (default from the seed's ``account.plan``, §2).
        retry_after: send ``Retry-After`` on 429s (documented for sister products only, §2).
        rng_seed: seeds fault draws, so runs are reproducible.

    Raises:
        ValueError: a daily limit, or an unknown plan.
    """
    if daily is not None:
        raise ValueError("Freshsales limits requests per hour and per minute, not per day; use hourly= "
                         "or the seed's account.plan")
    merged = load_seed(seed)
    domain = location_id or merged["account"]["domain"]
    plan = str(merged["account"].get("plan", "Forest")).lower()
    if hourly is None and plan not in PLAN_HOURLY:
        raise ValueError(f"unknown Freshsales plan {plan!r} (known: {', '.join(sorted(PLAN_HOURLY))}); "
                         "the free plan has no API access")
    clock = VirtualClock(time_scale)
    state = State(domain, merged, clock=clock.now)
    plan_faults = FaultPlan.parse(faults, seed=rng_seed) if faults else None
    per_minute, per_hour = burst or PER_MINUTE, hourly or PLAN_HOURLY[plan]
    windows = RateWindows([(per_minute, 60.0), (per_hour, 3600.0)], clock,
                          # 429=burst: refuse at half the per-minute limit while headers show the full one
                          enforce=[max(1, per_minute // 2), per_hour] if plan_faults and plan_faults.burst429 else None)
    ctx = Context(state=state, token=token or DEFAULT_TOKEN, windows=windows, clock=clock, faults=plan_faults,
                  retry_after=retry_after)
    app = SandboxMiddleware(create_app(ctx), faults=plan_faults, log=RequestLog(request_log) if request_log else None,
                            error_body=lambda status: ApiError(status, "Service Unavailable").body(),
                            admin_token=ctx.token)
    # What a workspace (and so the adapter) needs to reach and pace this account. The vendor
    # sends no header naming its windows (§2), so the plan, any limits set here and the time
    # scale travel as options.
    options = {"domain": domain, "time_zone": merged["account"].get("time_zone", "UTC"), "plan": merged["account"]["plan"]}
    options |= {k: v for k, v in (("per_minute", burst), ("hourly", hourly)) if v}
    if time_scale != 1:
        options["time_scale"] = time_scale
    return Built(app=app, state=state, token=ctx.token, location_id=domain, options=options)
