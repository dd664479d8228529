"""The alarm list's row checkbox, written directly (issue 16), is Django's own markup."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import ModelAdmin
from django.utils import translation

from alarms.models import Alarm
from alarms.services.endpoints import NewEndpoint
from tests.support.factories import apply_alarm


def test_the_checkbox_is_what_djangos_widget_writes(endpoint: NewEndpoint) -> None:
    alarm = apply_alarm(endpoint.endpoint, metric_name='cpu<"&>')
    alarm_admin = admin.site._registry[Alarm]
    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert alarm_admin.action_checkbox(alarm) == ModelAdmin.action_checkbox(
                alarm_admin, alarm
            )
