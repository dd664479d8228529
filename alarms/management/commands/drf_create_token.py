"""DRF's ``drf_create_token``, for AlarmHub's hashed tokens (DESIGN §4; issue 14, 13).

It takes the place of DRF's command (``alarms`` comes before ``rest_framework.authtoken`` in
INSTALLED_APPS) and prints the same line. Only the key's hash is stored, so an existing key cannot
be printed again: every run makes a new token, and ``--reset`` revokes the user's others first.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from alarms.services.tokens import create_token, revoke_user_tokens

# The name its tokens get in the admin (migration 0012 gives DRF's old tokens the same).
TOKENS_NAMED = "drf_create_token"


def _positive_days(value: str) -> int:
    days = int(value)
    if days < 1:
        raise ValueError(value)
    return days


class Command(BaseCommand):
    help = (
        "Create an API token for a user and print it (shown only once). "
        "--reset revokes the user's other tokens."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", type=str)
        parser.add_argument(
            "-r",
            "--reset",
            action="store_true",
            dest="reset_token",
            default=False,
            help="Revoke the user's existing tokens, then create a new one",
        )
        parser.add_argument(
            "--expires-in-days",
            type=_positive_days,
            default=None,
            metavar="N",
            help="The token stops working after N days (default: ALARMHUB_API_TOKEN_DAYS; "
            "unset: never)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist as exc:
            raise CommandError(f"Cannot create the Token: user {username} does not exist") from exc
        days: int | None = options["expires_in_days"]
        with transaction.atomic():
            if options["reset_token"]:
                revoke_user_tokens(user=user)
            new = create_token(
                user=user,
                name=TOKENS_NAMED,
                expires_in=timedelta(days=days) if days else None,
            )
        # DRF's own line: scripts (benchmarks/stack.py) read the key from it.
        self.stdout.write(f"Generated token {new.key} for user {username}")
