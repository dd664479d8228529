from __future__ import annotations

import getpass
import sys
from pathlib import Path
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
        password = parser.add_mutually_exclusive_group()
        password.add_argument(
            "--basic-auth-password-file",
            metavar="PATH",
            help="Read the Basic auth password from this file (its first line). Without it, "
            "the password is asked for when the terminal is interactive.",
        )
        password.add_argument(
            "--basic-auth-password",
            default="",
            help="The password itself (discouraged: other users see it in `ps` and it stays in "
            "the shell history)",
        )
        parser.add_argument(
            "--bearer-token-file",
            metavar="PATH",
            help="Require `Authorization: Bearer <token>` (Alertmanager's http_config "
            "authorization), the token read from this file's first line",
        )

    def _bearer_token(self, options: dict[str, Any]) -> str:
        if not options["bearer_token_file"]:
            return ""
        path = Path(options["bearer_token_file"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read the bearer token file {str(path)!r}: {exc}") from exc
        token = text.splitlines()[0].strip() if text.strip() else ""
        if not token:
            # An empty file would silently create an endpoint without the protection asked for.
            raise CommandError(f"The bearer token file {str(path)!r} is empty.")
        return token

    def _password(self, options: dict[str, Any]) -> str:
        if options["basic_auth_password_file"]:
            path = Path(options["basic_auth_password_file"])
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read the password file {str(path)!r}: {exc}") from exc
            return text.splitlines()[0] if text else ""
        if options["basic_auth_password"]:
            self.stderr.write(
                "Warning: --basic-auth-password is visible to other users in `ps` and stays in "
                "the shell history; prefer --basic-auth-password-file or the prompt."
            )
            return str(options["basic_auth_password"])
        if options["basic_auth_user"] and sys.stdin.isatty():
            first = getpass.getpass("Basic auth password: ")
            if first != getpass.getpass("Again: "):
                raise CommandError("The passwords do not match.")
            return first
        return ""

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            new = create_callback_endpoint(
                name=options["name"],
                timezone=options["timezone"],
                source=options["source"],
                basic_auth_username=options["basic_auth_user"],
                basic_auth_password=self._password(options),
                bearer_token=self._bearer_token(options),
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"Created {new.endpoint.source} endpoint {new.endpoint.name!r} "
            f"(time zone {new.endpoint.timezone}). "
            "Copy the token now: it is not stored and cannot be shown again."
        )
        self.stdout.write(new.path)
