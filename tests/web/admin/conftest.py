"""Fixtures for the admin tests: logged-in clients per role and an endpoint with alarms."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alarms.models import CallbackEndpoint
from tests.support.factories import make_endpoint


@pytest.fixture
def admin_endpoint(db: None) -> CallbackEndpoint:
    return make_endpoint(name="admin-tests").endpoint


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator_client(operator_user: Any) -> Client:
    return _client_for(operator_user)


@pytest.fixture
def viewer_client(viewer_user: Any) -> Client:
    return _client_for(viewer_user)


@pytest.fixture
def norole_client(staff_no_role_user: Any) -> Client:
    return _client_for(staff_no_role_user)


@pytest.fixture
def superuser_client(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_superuser("ops-root", "root@example.com", None)
    return _client_for(user)
