"""Fixtures shared by the in-process (SQLite) test suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from alarms.services import NewEndpoint
from tests.factories import make_endpoint


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """The endpoint look-up cache is per process: never let it leak between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def endpoint(db: None) -> NewEndpoint:
    """An active endpoint in Asia/Shanghai: ``.endpoint``, ``.token``, ``.path``."""
    return make_endpoint(name="tencent-prod")
