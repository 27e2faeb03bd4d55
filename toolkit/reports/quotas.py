"""What each destination's API lets a migration do per second, hour and day, and what each write
costs: the figures the estimate is computed from, in one place, each with its source.

Sources (all in ../shared/research/):

* HighLevel — highlevel.md §2: burst 100 requests per 10 s and 200,000 requests a day, per app
  per location; §3: list pages of at most 100 (``GET /contacts/``). One contact with its custom
  fields and tags is one call (the adapter sends them together).
* Pipedrive — pipedrive.md §2.2: a company's daily token budget is 30,000 × plan multiplier
  (Lite 1, Growth 2, Premium 5, Ultimate 7) × seats; §2.3: v2 create/update 5 tokens, v1 10
  (leads and notes are v1 only, §3), v2 list 10 tokens a page of up to 500 (§7); §2.4: burst per
  API token per 2-second window — Lite 20, Growth 40, Premium 100, Ultimate 120.
* Freshsales — freshsales.md §2: per account per hour Blossom and Garden 1,000, Estate 2,000,
  Forest 5,000, and 400 a minute on every plan; §6: bulk upsert takes up to 100 contacts, sales
  accounts or deals per call; tasks, appointments and notes have no bulk endpoint.

Assumptions (stated in every estimate, easy to correct here): a Pipedrive account on Growth with
one seat, and a Freshsales account on Garden, unless the workspace's destination options say
``plan`` / ``seats``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Quota", "quota_for", "QUOTAS"]


@dataclass(frozen=True)
class Quota:
    """One destination account's limits and costs.

    Attributes:
        burst: requests allowed per ``burst_seconds`` window.
        burst_seconds: the burst window.
        hourly: requests allowed per hour (``None``: no hourly limit).
        daily: units allowed per day (requests, or tokens when ``unit`` is "tokens").
        unit: what ``daily`` counts.
        write_cost: destination object -> units one write of it costs (``*`` for the rest).
        batch: destination object -> records one write call carries (bulk endpoints).
        page_size: records one list call reads back.
        list_cost: units one list call costs.
        source: where the figures come from.
        assumptions: what was assumed to pick them.
    """

    name: str
    burst: int
    burst_seconds: float
    daily: int | None
    hourly: int | None = None
    unit: str = "requests"
    write_cost: dict[str, float] = field(default_factory=lambda: {"*": 1})
    batch: dict[str, int] = field(default_factory=dict)
    page_size: int = 100
    list_cost: float = 1
    source: str = ""
    assumptions: tuple[str, ...] = ()

    @property
    def rate(self) -> float:
        """Sustained requests per second the limits allow (burst and hourly together)."""
        per_s = self.burst / self.burst_seconds
        return min(per_s, self.hourly / 3600.0) if self.hourly else per_s

    def cost(self, obj: str) -> float:
        return self.write_cost.get(obj, self.write_cost.get("*", 1))

    def per_call(self, obj: str) -> int:
        return self.batch.get(obj, 1)


_PIPEDRIVE_MULTIPLIER = {"lite": 1, "growth": 2, "premium": 5, "ultimate": 7}
_PIPEDRIVE_BURST = {"lite": 20, "growth": 40, "premium": 100, "ultimate": 120}
_FRESHSALES_HOURLY = {"blossom": 1000, "garden": 1000, "estate": 2000, "forest": 5000}


def _highlevel(options: dict) -> Quota:
    return Quota("highlevel", burst=100, burst_seconds=10, daily=200_000, page_size=100,
                 source="research/highlevel.md §2 (100 per 10 s, 200,000 a day per location)")


def _pipedrive(options: dict) -> Quota:
    plan = str(options.get("plan", "growth")).lower()
    seats = int(options.get("seats", 1))
    if plan not in _PIPEDRIVE_MULTIPLIER:
        from ..errors import ConfigError

        raise ConfigError(f"unknown Pipedrive plan {plan!r} in the workspace's destination options "
                          f"(plans: {', '.join(_PIPEDRIVE_MULTIPLIER)})")
    assumed = [] if "plan" in options else ["Pipedrive plan Growth (set destination options plan:)"]
    assumed += [] if "seats" in options else ["one Pipedrive seat (set destination options seats:)"]
    return Quota("pipedrive", burst=_PIPEDRIVE_BURST[plan], burst_seconds=2,
                 daily=30_000 * _PIPEDRIVE_MULTIPLIER[plan] * seats, unit="tokens",
                 write_cost={"lead": 10, "note": 10, "*": 5}, page_size=500, list_cost=10,
                 source=f"research/pipedrive.md §2.2-2.4 (30,000 × {_PIPEDRIVE_MULTIPLIER[plan]} × {seats} tokens a day; "
                        f"{_PIPEDRIVE_BURST[plan]} requests per 2 s)", assumptions=tuple(assumed))


def _freshsales(options: dict) -> Quota:
    plan = str(options.get("plan", "garden")).lower()
    if plan not in _FRESHSALES_HOURLY:
        from ..errors import ConfigError

        raise ConfigError(f"unknown Freshsales plan {plan!r} in the workspace's destination options "
                          f"(plans: {', '.join(_FRESHSALES_HOURLY)})")
    hourly = _FRESHSALES_HOURLY[plan]
    return Quota("freshsales", burst=400, burst_seconds=60, hourly=hourly, daily=hourly * 24,
                 batch={"contact": 100, "sales_account": 100, "deal": 100}, page_size=100,
                 source=f"research/freshsales.md §2 ({hourly:,} an hour, 400 a minute) and §6 (bulk upsert of 100)",
                 assumptions=() if "plan" in options else ("Freshsales plan Garden (set destination options plan:)",))


#: destination name -> how to build its quota from the workspace's destination options
QUOTAS = {"highlevel": _highlevel, "pipedrive": _pipedrive, "freshsales": _freshsales}


def quota_for(destination: str, options: dict | None = None) -> Quota:
    """The quota of a ``destination`` account described by ``options``.

    Raises:
        ConfigError: no quota is known for that destination, or its options name an unknown plan.
    """
    if destination not in QUOTAS:
        from ..errors import ConfigError

        raise ConfigError(f"no API quota is known for destination {destination!r} "
                          f"(known: {', '.join(sorted(QUOTAS))}); add it to toolkit/reports/quotas.py")
    return QUOTAS[destination](dict(options or {}))
