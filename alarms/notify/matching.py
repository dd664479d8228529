"""Does one alarm match a stored filter? The alarm-list vocabulary (DESIGN §4) for channels and
silences: ``{"namespace": ["qce/cvm"], "status": ["firing"], ...}``, a parameter name mapped to
its values, exactly what the board's query string would carry.

``AlarmFilterSet`` stays the one definition of the vocabulary: values are cleaned by its form,
and what cannot be decided from the row alone (free-text ``q``, filters added to the filterset
later) is decided by running the filterset against that one alarm.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict

from ..filters.filtersets import AlarmFilterSet
from ..models import Alarm

logger = logging.getLogger(__name__)

Filter = dict[str, list[str]]


def _known_filters() -> dict[str, Any]:
    return dict(AlarmFilterSet.base_filters)


def _is_multi(name: str) -> bool:
    # Repeatable parameters are the ones whose form field takes a list.
    field_class = getattr(_known_filters()[name], "field_class", None)
    return isinstance(field_class, type) and issubclass(field_class, forms.MultipleChoiceField)


def _as_values(name: str, raw: object) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list | tuple) and all(isinstance(v, str) for v in raw):
        return list(raw)
    raise ValidationError({name: ["Give a list of strings."]}, code="invalid")


def validate_filter(filter: Mapping[str, object] | None) -> Filter:
    """The filter, cleaned: known parameter names only, each a list of valid values.

    Raises ``ValidationError`` keyed by the offending parameter name (unknown name, bad value,
    several values for a single-valued parameter). Empty values are dropped; ``{}`` is valid
    and matches every alarm.
    """
    if filter is None:
        return {}
    if not isinstance(filter, Mapping):
        raise ValidationError({"filter": ["Give an object of filter names to values."]})
    known = _known_filters()
    errors: dict[str, list[str]] = {}
    data: Filter = {}
    for name, raw in filter.items():
        if name not in known:
            errors[str(name)] = ["Unknown filter."]
            continue
        try:
            values = [v for v in _as_values(name, raw) if v != ""]
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        if len(values) > 1 and not _is_multi(name):
            errors[name] = ["Give one value."]
            continue
        if values:
            data[name] = values
    if errors:
        raise ValidationError(errors)
    form = AlarmFilterSet(MultiValueDict(data), queryset=Alarm.objects.none()).form
    if not form.is_valid():
        raise ValidationError({name: list(msgs) for name, msgs in form.errors.items()})
    return data


@lru_cache(maxsize=512)
def _cleaned(frozen: str) -> dict[str, Any] | None:
    """Cleaned values of a filter (None when invalid); cached because a channel's or a
    silence's filter is evaluated against many alarms."""
    try:
        data = validate_filter(json.loads(frozen))
    except ValidationError:
        return None
    form = AlarmFilterSet(MultiValueDict(data), queryset=Alarm.objects.none()).form
    form.is_valid()
    return {name: value for name, value in form.cleaned_data.items() if name in data}


def _policy_id(alarm: Alarm) -> str | None:
    return alarm.policy.policy_id if alarm.policy_id is not None and alarm.policy else None


def _instance_id(alarm: Alarm) -> str | None:
    return alarm.instance.instance_id if alarm.instance_id is not None and alarm.instance else None


def _one_of(actual: str | None, values: list[str], *, fold: bool) -> bool:
    if not values:
        return True
    if actual is None:  # a null foreign key matches no value
        return False
    if fold:  # the filterset compares LOWER(field) IN (lowered values)
        return actual.lower() in {v.lower() for v in values}
    return actual in values


def _after(alarm: Alarm, value: datetime | None) -> bool:
    return value is None or alarm.first_occurred_at >= value


def _before(alarm: Alarm, value: datetime | None) -> bool:
    return value is None or alarm.first_occurred_at <= value


def _acknowledged(alarm: Alarm, value: str) -> bool:
    return value in ("", None) or (alarm.acknowledged_at is not None) == (value == "true")


# Filters decided from the row itself, with the same meaning as the filterset's SQL: exact
# `IN` (or `LOWER(...) IN` where the filter says ``case_insensitive``); null foreign keys match
# nothing.
_VALUE_OF: dict[str, Callable[[Alarm], str | None]] = {
    "namespace": lambda a: a.namespace,
    "region": lambda a: a.region,
    "status": lambda a: a.status,
    "level": lambda a: a.level,
    "kind": lambda a: a.kind,
    "policy_id": _policy_id,
    "instance_id": _instance_id,
}
_OTHER_CHECKS: dict[str, Callable[[Alarm, Any], bool]] = {
    "acknowledged": _acknowledged,
    "first_occurred_after": _after,
    "first_occurred_before": _before,
}


def _in_python(alarm: Alarm, name: str, value: Any) -> bool | None:
    """Whether ``alarm`` passes filter ``name``; None when only the database can tell."""
    if name in _VALUE_OF:
        fold = bool(getattr(_known_filters()[name], "case_insensitive", False))
        return _one_of(_VALUE_OF[name](alarm), value, fold=fold)
    if name in _OTHER_CHECKS:
        return _OTHER_CHECKS[name](alarm, value)
    return None


def alarm_matches(alarm: Alarm, filter: dict[str, list[str]]) -> bool:
    """Would ``alarm`` be listed on the board under ``filter``? ``{}`` matches every alarm.

    Exact-match keys are evaluated in Python (``select_related("policy", "instance")`` avoids
    a query each); ``q`` and any other key cost one query. An invalid filter matches nothing
    (filters are validated when saved, so this only guards against hand-edited rows).
    """
    if not filter:
        return True
    cleaned = _cleaned(json.dumps(filter, sort_keys=True, default=str))
    if cleaned is None:
        logger.warning("Ignoring an invalid stored alarm filter: %r", sorted(filter))
        return False
    rest: Filter = {}
    for name, value in cleaned.items():
        passed = _in_python(alarm, name, value)
        if passed is None:
            rest[name] = _as_values(name, filter[name])
        elif not passed:
            return False
    if not rest:
        return True
    one = Alarm.objects.filter(pk=alarm.pk)
    return bool(AlarmFilterSet(MultiValueDict(rest), queryset=one).qs.exists())
