from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from alarms.services import create_callback_endpoint


class Command(BaseCommand):
    help = "Create a callback endpoint and print its URL path (the token is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--timezone", default=None, help="Zone of Tencent's local times (default Asia/Shanghai)"
        )
        parser.add_argument("--basic-auth-user", default="", help="Require HTTP Basic auth")
        parser.add_argument("--basic-auth-password", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["basic_auth_user"] and not options["basic_auth_password"]:
            raise CommandError("--basic-auth-password is required with --basic-auth-user")
        try:
            new = create_callback_endpoint(
                name=options["name"],
                timezone=options["timezone"],
                basic_auth_username=options["basic_auth_user"],
                basic_auth_password=options["basic_auth_password"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"Created endpoint {new.endpoint.name!r} (time zone {new.endpoint.timezone}). "
            "Copy the token now: it is not stored and cannot be shown again."
        )
        self.stdout.write(new.path)
