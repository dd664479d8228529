"""The outbound channel kinds: a plain webhook and the three vendors' group robots."""

from __future__ import annotations

from typing import Literal, get_args

ChannelKind = Literal["webhook", "wecom", "dingtalk", "feishu"]

KINDS: tuple[str, ...] = get_args(ChannelKind)
# The kinds with a vendor's rate limit and answer format (webhooks have neither).
ROBOT_KINDS: tuple[str, ...] = ("wecom", "dingtalk", "feishu")
