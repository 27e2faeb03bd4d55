"""The declared Dental-Exec export layout (``layout.yaml``, ``dx-4``)."""

from __future__ import annotations

from .._layout import Layout
from .._layout import load_layout as _load

__all__ = ["load_layout"]


def load_layout(name: str = "layout.yaml") -> Layout:
    """Read a packaged layout file (default: the current version)."""
    return _load(__package__, name)
