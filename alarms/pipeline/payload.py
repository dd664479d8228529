"""Decoding callback bodies, and making decoded JSON safe to store.

PostgreSQL text refuses NUL and lone surrogates, both valid in JSON; numbers like 1e400 are valid
JSON but no database takes infinity in a JSON column.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, TypeVar

T = TypeVar("T")


class BadPayload(ValueError):
    """The body is not a JSON object; the message is safe to show the sender."""


# Tencent bodies nest four levels deep. A limit far above that keeps every later recursive step
# (text clean-up, JSONField encoding, the database's own JSON parser) clear of Python's recursion
# limit, whatever the caller's stack depth; RFC 8259 §9 lets a parser limit nesting.
MAX_JSON_DEPTH = 64


def _parse_float(text: str) -> float | str:
    # 1e400 is valid JSON but overflows to inf, which no database accepts in a JSON column:
    # keep the number as its text rather than lose the whole alarm.
    number = float(text)
    return number if math.isfinite(number) else text


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests more than MAX_JSON_DEPTH arrays/objects (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > MAX_JSON_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a callback body; it must be a JSON object."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadPayload(f"body is not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_float=_parse_float, parse_constant=_reject_constant)
    except RecursionError:
        raise BadPayload("body is not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise BadPayload(f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadPayload(f"body must be a JSON object, not {type(value).__name__}")
    if _too_deep(value):
        raise BadPayload(f"body is not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels")
    return value


REPLACEMENT = "\ufffd"


def storable_text(text: str) -> str:
    """Replace NUL and unpaired surrogates (both valid in JSON) with U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", REPLACEMENT)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def storable(value: Any) -> Any:
    """``storable_text`` applied to every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(k)): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def storable_dataclass(instance: T) -> T:
    """A copy of a dataclass instance with every string field made storable."""
    changes = {
        field.name: storable(getattr(instance, field.name))
        for field in dataclasses.fields(instance)  # type: ignore[arg-type]
        if isinstance(getattr(instance, field.name), str | dict | list)
    }
    return dataclasses.replace(instance, **changes)  # type: ignore[type-var]
