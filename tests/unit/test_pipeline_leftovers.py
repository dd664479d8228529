"""Review leftovers of the batch pipeline (issue 16): the stranded-delivery sweep never re-queues a
batch that may still be running, and a payload period too big for its column is unknown, not
an error."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from alarms.checks import check_requeue_after_time_limit
from tests.unit.test_settings import manage
from tests.unit.test_tencent_parser import TRIGGER, parse, with_conditions

# --- the sweep waits longer than a task may run --------------------------------------------------


def _setting(name: str, env: dict[str, str]) -> int:
    result = manage(
        "shell", "-c", f"from django.conf import settings; print(settings.{name})", env=env
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


def test_requeue_after_defaults_to_above_the_task_time_limit() -> None:
    assert _setting("ALARMHUB_REQUEUE_AFTER_SECONDS", {}) > _setting("CELERY_TASK_TIME_LIMIT", {})
    # Derived from the limit: raising the limit moves the default with it.
    assert _setting("ALARMHUB_REQUEUE_AFTER_SECONDS", {"CELERY_TASK_TIME_LIMIT": "600"}) > 600


@pytest.mark.parametrize("requeue_after", [60, 120])
def test_requeue_after_at_or_below_the_time_limit_is_a_warning(requeue_after: int) -> None:
    with override_settings(
        ALARMHUB_REQUEUE_AFTER_SECONDS=requeue_after, CELERY_TASK_TIME_LIMIT=120
    ):
        [warning] = check_requeue_after_time_limit(None)

    assert warning.id == "alarmhub.W003"
    assert "ALARMHUB_REQUEUE_AFTER_SECONDS" in warning.msg
    assert "120" in (warning.hint or "")


def test_requeue_after_above_the_time_limit_passes_the_check() -> None:
    with override_settings(ALARMHUB_REQUEUE_AFTER_SECONDS=121, CELERY_TASK_TIME_LIMIT=120):
        assert check_requeue_after_time_limit(None) == []


def test_manage_check_reports_a_requeue_after_below_the_time_limit() -> None:
    result = manage("check", env={"ALARMHUB_REQUEUE_AFTER_SECONDS": "60"})

    assert "alarmhub.W003" in result.stderr + result.stdout


# --- the Tencent parser bounds the period to what it can be stored as -----------------------------


@pytest.mark.parametrize("period", [2**31, "2147483648", "3000000000", 3.0e9])
def test_a_period_beyond_a_32_bit_integer_is_unknown_and_kept_in_extras(period: Any) -> None:
    n = parse(with_conditions(TRIGGER, period=period))

    assert n.period_seconds is None
    assert n.extras["alarmPolicyInfo"]["conditions"]["period"] == period
    assert n.metric_name  # the rest of the notification is intact


def test_the_largest_period_a_32_bit_integer_holds_is_kept() -> None:
    n = parse(with_conditions(TRIGGER, period=str(2**31 - 1)))

    assert n.period_seconds == 2**31 - 1
