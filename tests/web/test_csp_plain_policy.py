"""alarmhub.security.CSPMiddleware: the plain policy is built once, and only that one."""

from __future__ import annotations

import pytest
from csp.decorators import csp_exempt
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from alarmhub.security import CSPMiddleware

pytestmark = pytest.mark.django_db


def test_plain_responses_carry_the_configured_policy_after_a_settings_change(
    client: Client,
) -> None:
    before = client.get("/healthz")["Content-Security-Policy"]
    assert (
        "default-src 'self'" in before
        and client.get("/healthz")["Content-Security-Policy"] == before
    )

    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"]}}):
        assert client.get("/healthz")["Content-Security-Policy"] == "default-src 'none'"
    assert client.get("/healthz")["Content-Security-Policy"] == before


def _through_middleware(view: object) -> HttpResponse:
    middleware = CSPMiddleware(view)  # type: ignore[arg-type]
    return middleware(RequestFactory().get("/"))  # type: ignore[return-value]


def test_a_page_that_used_the_nonce_gets_it_in_its_header() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(str(request.csp_nonce))  # type: ignore[attr-defined]

    response = _through_middleware(view)

    assert f"'nonce-{response.content.decode()}'" in response["Content-Security-Policy"]


def test_an_exempt_view_gets_no_policy() -> None:
    response = _through_middleware(csp_exempt()(lambda request: HttpResponse("ok")))

    assert "Content-Security-Policy" not in response


def test_a_nonce_asked_for_after_the_header_was_written_is_an_error() -> None:
    request = RequestFactory().get("/")
    CSPMiddleware(lambda r: HttpResponse("ok"))(request)

    with pytest.raises(Exception, match="csp_nonce"):
        str(request.csp_nonce)  # type: ignore[attr-defined]
