"""Console test users: Viewers and Operators who are not staff, the console's main audience."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from alarms.permissions import OPERATOR, VIEWER
from tests.support.accounts import console_user


@pytest.fixture
def viewer(db: None) -> User:
    """A Viewer who is not staff: reads everything, acts on nothing, never sent to /admin/."""
    return console_user("vera", VIEWER)


@pytest.fixture
def operator(db: None) -> User:
    """An Operator who is not staff."""
    return console_user("otto", OPERATOR)


@pytest.fixture
def staff_operator(db: None) -> User:
    return console_user("sam", OPERATOR, staff=True)
