"""The OpenAPI document is valid, and the API keeps to it under generated input (schemathesis)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from alarms.choices import ChannelKind
from alarms.models import Alarm, CallbackEndpoint, Channel, Delivery, Instance, Policy
from alarms.notify import transport
from alarms.services.operator import acknowledge_alarm
from alarms.services.silences import create_silence
from tests.support.factories import make_delivery
from tests.web.api.conftest import Account

# Per operation and generation mode: valid input (positive), then invalid input (negative).
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 10}


def test_schema_validates_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    text = target.read_text()
    for path in (
        "/api/v1/alarms/",
        "/api/v1/alarms/{id}/",
        "/api/v1/alarms/{id}/acknowledge/",
        "/api/v1/alarms/{id}/unacknowledge/",
        "/api/v1/alarms/{id}/notes/",
        "/api/v1/alarms/acknowledge/",
        "/api/v1/alarms/unacknowledge/",
        "/api/v1/alarms/export/",
        "/api/v1/stats/",
        "/api/v1/policies/",
        "/api/v1/instances/",
        "/api/v1/endpoints/",
        "/api/v1/deliveries/",
        "/api/v1/channels/",
        "/api/v1/channels/{id}/",
        "/api/v1/channels/{id}/test/",
        "/api/v1/silences/",
        "/api/v1/silences/{id}/",
    ):
        assert f"{path}:" in text, path


def test_schema_documents_every_filter_and_the_contract_fields(
    accounts: dict[str, Account],
) -> None:
    schema = accounts["viewer"].client().get("/api/v1/schema/?format=json").json()

    list_op = schema["paths"]["/api/v1/alarms/"]["get"]
    params = {p["name"]: p for p in list_op["parameters"]}
    assert set(params) == {
        "namespace",
        "region",
        "status",
        "policy_id",
        "instance_id",
        "acknowledged",
        "kind",
        "level",
        "first_occurred_after",
        "first_occurred_before",
        "q",
        "stale",
        "source",
        "cursor",
        "page_size",
    }
    for name in ("namespace", "region", "status", "policy_id", "instance_id"):
        assert params[name]["schema"]["type"] == "array", name
        assert params[name]["explode"] is True, name
    assert params["first_occurred_after"]["schema"]["format"] == "date-time"
    assert params["source"]["schema"]["type"] == "array"
    assert params["source"]["explode"] is True
    assert sorted(params["source"]["schema"]["items"]["enum"]) == ["alertmanager", "tencent"]
    assert sorted(params["stale"]["schema"]["enum"]) == ["false", "true"]
    alarm = schema["components"]["schemas"]["Alarm"]["properties"]
    assert {"id", "acknowledged_by", "note_count", "policy_name", "instance_name"} <= set(alarm)
    assert alarm["acknowledged_by"]["nullable"] is True
    endpoint = schema["components"]["schemas"]["CallbackEndpoint"]["properties"]
    assert not {"token", "token_hash", "basic_auth_password_hash"} & set(endpoint)
    # A channel's secret is write-only: in the request body, never in a response.
    channel = schema["components"]["schemas"]["Channel"]["properties"]
    assert "secret" not in channel
    assert "secret" in schema["components"]["schemas"]["ChannelRequest"]["properties"]
    silence = schema["components"]["schemas"]["Silence"]["properties"]
    assert {"id", "filter", "starts_at", "ends_at", "recurrence", "active_now"} <= set(silence)


def test_schema_and_docs_need_a_login(accounts: dict[str, Account]) -> None:
    anonymous = accounts["anonymous"].client()
    assert anonymous.get("/api/v1/schema/").status_code == 401
    assert anonymous.get("/api/v1/docs/").status_code == 401

    # A login without a role is not enough: the schema maps what the roles may do.
    assert accounts["norole"].client().get("/api/v1/schema/").status_code == 403
    assert accounts["norole"].client().get("/api/v1/docs/").status_code == 403
    docs = accounts["viewer"].client().get("/api/v1/docs/")
    assert docs.status_code == 200
    assert "/api/v1/schema/" in docs.content.decode()


# --- schemathesis ----------------------------------------------------------------------------


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """The real WSGI application, in-process, inside the test's transaction.

    Like Django's test client, keep the request signals from closing the connection: it holds
    the test transaction (and, on SQLite, the in-memory database).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def known_ids(
    api_endpoint: CallbackEndpoint,
    alarm_factory: Callable[..., Alarm],
    accounts: dict[str, Account],
) -> dict[str, int]:
    """Real objects for the `{id}` routes, so generated requests also reach the happy paths."""
    now = timezone.now()
    alarm = alarm_factory(instance_id="ins-fuzz")
    acknowledge_alarm(alarm=alarm, actor=accounts["operator"].user, note="fuzz")
    alarm_factory(instance_id="ins-other", policy_id="", policy_name="", status="recovered")
    delivery = make_delivery(api_endpoint, body=b'{"broken": "\xff"}')
    return {
        "alarms": alarm.pk,
        "policies": Policy.objects.values_list("pk", flat=True).first() or 1,
        "instances": Instance.objects.values_list("pk", flat=True).first() or 1,
        "endpoints": api_endpoint.pk,
        "deliveries": Delivery.objects.get(pk=delivery.pk).pk,
        # Email: a test message sent to it goes to Django's test mailbox, not the network.
        "channels": Channel.objects.create(
            name="fuzz", kind=ChannelKind.EMAIL, url="ops@example.com", events=["triggered"]
        ).pk,
        "silences": create_silence(
            actor=None,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=1),
            filter={"namespace": ["qce/cvm"]},
            comment="fuzz",
        ).pk,
    }


def test_generated_requests_get_no_server_error_and_match_the_schema(
    accounts: dict[str, Account],
    known_ids: dict[str, int],
    wsgi_app: WSGIHandler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from alarms.api.views import AlarmWriteThrottle

    monkeypatch.setattr(AlarmWriteThrottle, "THROTTLE_RATES", {"alarm_write": "100000/minute"})
    # Generated channels may name any URL: a test message to one must not leave the machine.
    monkeypatch.setattr(transport.requests, "request", _no_network)
    superuser = accounts["superuser"]
    raw = superuser.client().get("/api/v1/schema/?format=json").json()
    # The callback has its own contract and tests (tests/ingestion); fuzz the operator API.
    raw["paths"].pop("/api/v1/callbacks/{token}/", None)
    schema = schemathesis.openapi.from_dict(raw)
    headers = {"Authorization": f"Token {superuser.token}"}
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for mode, examples in EXAMPLES.items():
        for operation in operations:
            strategy = operation.as_strategy(generation_mode=mode)
            if "{id}" in operation.path:
                resource = operation.path.split("/")[3]
                known = operation.as_strategy(
                    generation_mode=mode, path_parameters={"id": known_ids[resource]}
                )
                strategy = st.one_of(strategy, known)
            _fuzz(strategy, examples, wsgi_app, headers, checks)


def _no_network(*args: Any, **kwargs: Any) -> Any:
    raise requests.ConnectionError("no network in the fuzz test")


def _fuzz(
    strategy: Any, examples: int, app: WSGIHandler, headers: dict[str, str], checks: list[Any]
) -> None:
    @given(case=strategy)
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(app=app, headers=headers)
        case.validate_response(response, checks=checks, headers=headers)

    run()


def test_docs_serve_swagger_ui_locally_not_from_a_cdn(accounts: dict[str, Account]) -> None:
    page = accounts["viewer"].client().get("/api/v1/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page
