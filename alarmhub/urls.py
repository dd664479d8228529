from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from alarms import health
from alarms.console.css import status_css
from alarms.ops.views import metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("alarms.api.urls")),
    path("admin/", admin.site.urls),
    # Explicit account pages (not django.contrib.auth.urls): reset only with email configured.
    path("accounts/", include("alarmhub.accounts")),
    # Badge colours from alarms.choices: a stylesheet, since the CSP allows no inline styles.
    path("assets/status.css", status_css, name="status_css"),
    path("", include("alarms.console.urls")),
]
