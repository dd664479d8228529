"""The board's FilterSet: every filter labelled, and its customisations independent of the API's.

django-filter caches a filter's form field on the filter (``Filter.field`` → ``_field``), and the
API's and the console's FilterSet classes share their filter objects: whichever builds a field
from them first must not decide what the other one shows or accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.contrib.auth.models import User
from django.utils import timezone

from alarms.console.filters import LABELS, ConsoleAlarmFilterSet
from alarms.filters.filtersets import AlarmFilterSet
from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def shared_fields_built() -> Iterator[None]:
    """Build every field on the shared class-level filters, as drf-spectacular does."""
    for filter_ in AlarmFilterSet.base_filters.values():
        _ = filter_.field
    yield
    # The cache is only a cache: dropping it leaves the process as a fresh start would.
    for filter_ in AlarmFilterSet.base_filters.values():
        vars(filter_).pop("_field", None)


def console_cleaned(data: dict[str, str]) -> dict[str, object]:
    filterset = ConsoleAlarmFilterSet(data)
    assert filterset.is_valid(), filterset.errors
    return dict(filterset.form.cleaned_data)


def api_cleaned(data: dict[str, str]) -> dict[str, object]:
    filterset = AlarmFilterSet(data)
    assert filterset.is_valid(), filterset.errors
    return dict(filterset.form.cleaned_data)


def assert_console_customised() -> None:
    fields = ConsoleAlarmFilterSet().form.fields
    assert str(fields["policy_id"].label) == "Policy id"
    for name in ("status", "kind", "source"):
        assert isinstance(fields[name].widget, forms.CheckboxSelectMultiple), name
    assert console_cleaned({"namespace": "qce/cvm, qce/cdb"})["namespace"] == ["qce/cvm", "qce/cdb"]
    with timezone.override(SHANGHAI):
        after = console_cleaned({"first_occurred_after": "2026-12-03 15:00"})
    assert after["first_occurred_after"] == datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


def assert_api_unaffected() -> None:
    fields = AlarmFilterSet().form.fields
    assert not isinstance(fields["status"].widget, forms.CheckboxSelectMultiple)
    assert fields["namespace"].help_text.startswith("Namespace, e.g. qce/cvm")
    assert api_cleaned({"namespace": "qce/cvm,qce/cdb"})["namespace"] == ["qce/cvm,qce/cdb"]
    with timezone.override(SHANGHAI):  # the API reads a time without an offset as UTC
        after = api_cleaned({"first_occurred_after": "2026-12-03 15:00"})
    assert after["first_occurred_after"] == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def test_every_alarm_filter_has_a_console_label() -> None:
    unlabelled = sorted(set(AlarmFilterSet.base_filters) - set(LABELS))
    assert not unlabelled, f"add to alarms.console.filters.LABELS (and translate): {unlabelled}"
    labels = {name: str(f.label) for name, f in ConsoleAlarmFilterSet().form.fields.items()}
    assert labels == {name: str(label) for name, label in LABELS.items()}
    assert "[invalid name]" not in labels.values()


def test_console_form_keeps_its_customisations_after_the_api_built_the_shared_fields(
    shared_fields_built: None,
) -> None:
    assert AlarmFilterSet().form.fields  # the API's own form too, before the console's first
    assert_console_customised()
    assert_api_unaffected()


def test_api_is_unaffected_by_the_console_building_its_form_first(
    shared_fields_built: None,
) -> None:
    assert_console_customised()
    for filter_ in ConsoleAlarmFilterSet.base_filters.values():  # the very same objects
        _ = filter_.field
    assert_api_unaffected()
    assert_console_customised()


def test_board_is_customised_after_the_schema_was_generated(
    endpoint: NewEndpoint, viewer: User
) -> None:
    client = client_for(viewer)
    try:
        assert client.get("/api/v1/schema/?format=json").status_code == 200
        page = client.get("/", {"namespace": "qce/cvm,qce/cdb"}).content.decode()
    finally:
        for filter_ in AlarmFilterSet.base_filters.values():
            vars(filter_).pop("_field", None)
    assert 'type="checkbox" name="status" value="firing"' in page
    assert 'type="checkbox" name="source" value="alertmanager"' in page
    assert '<label for="id_policy_id">Policy id</label>' in page
    assert "[invalid name]" not in page
