from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from alarms.services.endpoints import create_callback_endpoint
from alarms.sources.registry import DEFAULT_SOURCE, SOURCES


class Command(BaseCommand):
    help = "Create a callback endpoint and print its URL path (the token is shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--timezone", default=None, help="Zone of Tencent's local times (default Asia/Shanghai)"
        )
        parser.add_argument(
            "--source",
            default=DEFAULT_SOURCE,
            choices=sorted(SOURCES),
            help=f"Which alarm source posts here (default {DEFAULT_SOURCE})",
        )
        parser.add_argument("--basic-auth-user", default="", help="Require HTTP Basic auth")
        parser.add_argument("--basic-auth-password", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            new = create_callback_endpoint(
                name=options["name"],
                timezone=options["timezone"],
                source=options["source"],
                basic_auth_username=options["basic_auth_user"],
                basic_auth_password=options["basic_auth_password"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"Created {new.endpoint.source} endpoint {new.endpoint.name!r} "
            f"(time zone {new.endpoint.timezone}). "
            "Copy the token now: it is not stored and cannot be shown again."
        )
        self.stdout.write(new.path)
