"""Account pages under /accounts/: Django's auth views, each one named explicitly.

Password reset sends email: without a mail server configured (``EMAIL_URL``) its pages answer
404 instead of trying SMTP on every POST, and when they are on, each client address may ask for
``ALARMHUB_PASSWORD_RESETS_PER_HOUR`` resets an hour (axes guards only the login forms).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, path
from django.utils.translation import gettext

from alarms.console.views import LoginView

from .security import client_ip, email_configured, hit

_View = Callable[..., HttpResponseBase]


def _only_with_email(view: _View) -> _View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not email_configured():
            raise Http404("password reset is off: no email is configured")
        return view(request, *args, **kwargs)

    return wrapped


def _throttled(view: _View) -> _View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            count = hit("default", "password-reset", client_ip(request), window_seconds=3600)
            if count > settings.ALARMHUB_PASSWORD_RESETS_PER_HOUR:
                return HttpResponse(
                    gettext("Too many password reset requests. Try again in an hour."),
                    status=429,
                    content_type="text/plain; charset=utf-8",
                    headers={"Retry-After": "3600"},
                )
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns: list[URLPattern] = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password_reset/",
        _only_with_email(_throttled(auth_views.PasswordResetView.as_view())),
        name="password_reset",
    ),
    path(
        "password_reset/done/",
        _only_with_email(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        _only_with_email(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        _only_with_email(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
]
