"""Filter values PostgreSQL refuses are refused or ignored first, never a 500 (issue 14, 9).

PostgreSQL text cannot hold NUL: a ``%00`` that reaches a query raises in psycopg. SQLite takes
it, so the web tests cannot show this; here a signed-in superuser asks gunicorn on PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.conftest import EndpointPool, post_callback, tencent_metric_body
from tests.support.services import (
    PostgresServer,
    RedisServer,
    WebServer,
    manage,
    service_env,
)

PASSWORD = "integration-" + uuid.uuid4().hex

# (path and query, the statuses that are a right answer)
REFUSED_OR_IGNORED = [
    # The findings: the admin's FilterSet answers a bad value with its ?e=1 redirect.
    ("/admin/alarms/alarm/?namespace=%00", {302}),
    ("/admin/alarms/alarm/?region=%00", {302}),
    ("/admin/alarms/alarm/?q=%00", {200, 302}),
    ("/admin/alarms/delivery/?q=%00", {200, 302}),
    # The board shows the error beside its input, or ignores a position it cannot use.
    ("/?namespace=%00", {200, 400}),
    ("/?q=%00", {200, 400}),
    ("/?before=9999-12-31T23:59:59-14:00&before_id=1", {200}),
    ("/?before=2024-05-01T10:00:00%2B00:00&before_id=99999999999999999999", {200}),
    ("/api/v1/alarms/?namespace=%00", {400}),
    ("/api/v1/alarms/?region=%00", {400}),
]
# Every other admin search box Django runs itself (icontains over text columns).
REFUSED_OR_IGNORED += [
    (f"/admin/{model}/?q=%00", {200, 302})
    for model in (
        "auth/user", "auth/group", "alarms/auditentry", "alarms/policy", "alarms/instance",
        "alarms/alarmevent", "alarms/note", "alarms/callbackendpoint", "alarms/channel",
        "alarms/outboundmessage", "alarms/silence", "alarms/apitoken",
    )
]  # fmt: skip


@pytest.fixture(scope="module")
def debug_web(
    postgres: PostgresServer, redis_server: RedisServer, integration_log_dir: Path
) -> Iterator[WebServer]:
    """gunicorn on PostgreSQL with DEBUG on: pages need no collected static files, and a
    500 still is a 500."""
    env = service_env(database_url=postgres.url, broker_url=redis_server.url, debug=True)
    with WebServer(env, workers=1, log_dir=integration_log_dir / "nul-web") as server:
        yield server


@pytest.fixture(scope="module")
def signed_in(debug_web: WebServer, endpoint_pool: EndpointPool) -> requests.Session:
    """A superuser's session on ``debug_web``, with one delivery stored so lists are not
    empty."""
    username = f"pg-{uuid.uuid4().hex[:8]}"
    manage(
        debug_web.env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User\n"
        f"User.objects.create_superuser({username!r}, '', {PASSWORD!r})\n",
    )
    path, _ = endpoint_pool.take()
    body = tencent_metric_body(
        policy_id="policy-nul",
        instance_id="ins-nul",
        first_occur="2024-05-01 10:00:00",
        session_id=uuid.uuid4().hex[:24],
    )
    assert post_callback(debug_web, path, body).status_code == 200

    session = requests.Session()
    login = debug_web.base_url + "/admin/login/"
    form = session.get(login, timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert token, form[:500]
    answer = session.post(
        login,
        data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": PASSWORD},
        headers={"Referer": login},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


@pytest.mark.parametrize(("url", "allowed"), REFUSED_OR_IGNORED)
def test_filter_value_postgresql_cannot_hold_is_refused_not_a_500(
    signed_in: requests.Session, debug_web: WebServer, url: str, allowed: set[int]
) -> None:
    response = signed_in.get(debug_web.base_url + url, allow_redirects=False, timeout=10)
    assert response.status_code in allowed, (response.status_code, response.text[:300])
    if "/admin/alarms/alarm/" in url and response.status_code == 302:
        assert response.headers["Location"].endswith("?e=1")
