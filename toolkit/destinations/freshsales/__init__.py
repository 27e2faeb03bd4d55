"""Freshsales (Freshworks CRM) destination: the adapter, its pacing and its bulk paths.

See :class:`~.adapter.Freshsales` for the objects it writes and how; facts come from
``shared/research/freshsales.md``.
"""

from .adapter import Freshsales

__all__ = ["Freshsales"]
