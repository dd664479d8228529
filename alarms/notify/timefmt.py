"""How a message shows times and durations, and in which language.

Pure: times are converted (never relabelled) into the channel's zone, and a Django language code
is mapped onto the two languages the messages are written in.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Literal, get_args
from zoneinfo import ZoneInfo

Language = Literal["zh-hans", "en"]

LANGUAGES: tuple[str, ...] = get_args(Language)
DEFAULT_TZ = "Asia/Shanghai"


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def format_time(moment: datetime, tz: str | tzinfo = DEFAULT_TZ) -> str:
    """``2026-12-03 15:52 CST``: local time with the zone's abbreviation, else its offset."""
    local = moment.astimezone(_zone(tz))
    name = local.tzname() or ""
    # Zones without a real abbreviation report "+08" and the like: show the full offset instead.
    if not name or name[0] in "+-":
        offset = local.strftime("%z")
        name = f"{offset[:3]}:{offset[3:]}"
    return f"{local:%Y-%m-%d %H:%M} {name}"


def format_duration(seconds: float, language: Language = "zh-hans") -> str:
    """A short human duration: ``45 s``, ``14 min``, ``2 h 5 min``, ``3 d 4 h`` (or in Chinese)."""
    zh = language == "zh-hans"
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = ("天", "小时", "分钟", "秒") if zh else ("d", "h", "min", "s")
    if days:
        parts = [(days, units[0]), (hours, units[1])]
    elif hours:
        parts = [(hours, units[1]), (minutes, units[2])]
    elif minutes:
        parts = [(minutes, units[2])]
    else:
        parts = [(secs, units[3])]
    return " ".join(f"{count} {unit}" for count, unit in parts if count or len(parts) == 1)


def normalise_language(value: str | None) -> Language:
    """``zh``, ``zh-hans``, ``zh-CN``... → ``zh-hans``; anything else → ``en``."""
    return "zh-hans" if (value or "").lower().startswith("zh") else "en"
