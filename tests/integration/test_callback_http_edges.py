"""HTTP details a real server shows and the test client cannot: chunked bodies, bare paths."""

from __future__ import annotations

from collections.abc import Iterator

import requests

from tests.integration.conftest import (
    EndpointPool,
    delivery_statuses,
    tencent_metric_body,
    wait_deliveries_settled,
)
from tests.support.services import CeleryWorker, PostgresServer, WebServer, psql


def _body(session: str) -> bytes:
    return tencent_metric_body(
        policy_id="policy-edges",
        instance_id=f"ins-{session}",
        first_occur="2024-05-01 10:00:00",
        session_id=session,
    )


def test_chunked_callback_is_stored_not_mistaken_for_url_verification(
    callback_env: dict[str, str],
    callback_web: WebServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
) -> None:
    path, endpoint = endpoint_pool.take()
    body = _body("chunked0000000000000001")

    def chunks() -> Iterator[bytes]:  # a generator body makes requests send it chunked
        yield body[:100]
        yield body[100:]

    response = requests.post(callback_web.base_url + path, data=chunks(), timeout=10)

    assert response.json() == {"sessionId": "chunked0000000000000001", "retCode": 0}
    wait_deliveries_settled(callback_env["DATABASE_URL"], endpoint, 1)
    assert delivery_statuses(callback_env["DATABASE_URL"], endpoint) == {"processed": 1}


def test_callback_url_without_trailing_slash_is_stored_not_redirected(
    callback_env: dict[str, str],
    callback_web: WebServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
) -> None:
    path, endpoint = endpoint_pool.take()
    response = requests.post(
        callback_web.base_url + path.rstrip("/"),
        data=_body("noslash00000000000000001"),
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["retCode"] == 0
    wait_deliveries_settled(callback_env["DATABASE_URL"], endpoint, 1)


def test_free_text_search_has_trigram_indexes_on_postgresql(postgres: PostgresServer) -> None:
    rows = psql(postgres.url, "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
    assert {name for (name,) in rows} == {
        "alarms_alarm_metric_name_trgm",
        "alarms_alarm_event_name_trgm",
        "alarms_policy_name_trgm",
        "alarms_policy_policy_id_trgm",
        "alarms_instance_instance_id_trgm",
        "alarms_instance_name_trgm",
    }
