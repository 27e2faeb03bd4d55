"""Pipedrive destination: one company through the current v1/v2 API split (research pipedrive.md)."""

from .adapter import DEFAULT_BASE_URL, Pipedrive

__all__ = ["Pipedrive", "DEFAULT_BASE_URL"]
