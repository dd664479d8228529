"""Prometheus Alertmanager webhook bodies (``webhook_configs``): one notification per alert."""

from __future__ import annotations

from .parser import NAME, parse

name = NAME

__all__ = ["name", "parse"]
