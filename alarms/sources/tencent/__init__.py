"""Tencent Cloud Monitor callbacks (the default source): one notification per body."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Any

from ..base import Notification
from .parser import SOURCE, parse_notification

name = SOURCE

# Real and documented example bodies (see FORMAT.md): the demo data of `make run`, and the
# test suite's fixtures.
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


def parse(payload: dict[str, Any], *, default_tz: tzinfo) -> list[Notification]:
    """A Tencent body always carries exactly one alarm notification."""
    return [parse_notification(payload, default_tz=default_tz)]
