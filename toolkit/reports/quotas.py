"""What each destination's API lets a migration do per second, hour and day, and what each write
costs: the figures the estimate is computed from. Each CRM's package holds its own
(``toolkit/destinations/<name>/knowledge.py``); this module asks the registry.

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

from ..destinations import registry as destinations
from ..destinations.knowledge import Quota

__all__ = ["Quota", "quota_for"]


def quota_for(destination: str, options: dict | None = None) -> Quota:
    """The quota of a ``destination`` account described by ``options`` (its package's ``quota``).

    Raises:
        ConfigError: unknown destination, no quota known for it, or options naming an unknown plan.
    """
    return destinations.get(destination).quota(dict(options or {}))
