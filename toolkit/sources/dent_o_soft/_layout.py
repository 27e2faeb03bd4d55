"""The declared Dent-O-Soft export layouts: ``layout.yaml`` (``dos-7``, current) and the older
versions in ``layouts/``. See :mod:`toolkit.sources._layout` for what a layout declares."""

from __future__ import annotations

from .._layout import Layout, ObjectLayout
from .._layout import load_layout as _load
from .._layout import load_layouts as _load_all

__all__ = ["Layout", "ObjectLayout", "load_layout", "load_layouts"]


def load_layout(name: str = "layout.yaml") -> Layout:
    """Read a packaged layout file (default: the current version)."""
    return _load(__package__, name)


def load_layouts() -> tuple[Layout, ...]:
    """Every version this package declares, current first."""
    return _load_all(__package__)
