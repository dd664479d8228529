from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.test import Client

from alarms.models import Alarm, CallbackEndpoint
from alarms.services.endpoints import (
    CALLBACK_PATH,
    create_callback_endpoint,
    hash_token,
    rotate_endpoint_token,
)
from alarms.sources.tencent import EXAMPLES_DIR

DEMO_ENDPOINT = "demo"
DEMO_PAYLOADS = EXAMPLES_DIR


class Command(BaseCommand):
    help = (
        "First-run setup for `make run`: an admin account (password printed once), a demo "
        "callback endpoint whose URL is printed, and demo alarms posted through the real endpoint."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the server will answer (`make run` passes its HOST and PORT).",
        )
        parser.add_argument(
            "--load-demo",
            choices=["auto", "always", "never"],
            default="auto",
            help="Post the example payloads (auto: only when there are no alarms yet).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = options["base_url"].rstrip("/")
        self._ensure_admin(login_url=f"{base_url}/admin/")
        token = self._demo_token()
        path = CALLBACK_PATH.format(token=token)
        mode = options["load_demo"]
        if mode == "always" or (mode == "auto" and not Alarm.objects.exists()):
            self._post_examples(path)
        self.stdout.write(f"Demo callback URL: {base_url}{path}")

    def _ensure_admin(self, *, login_url: str) -> None:
        user_model = get_user_model()
        if user_model.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                f"Log in at {login_url} with your admin account "
                "(forgot it? `.venv/bin/python manage.py changepassword admin`)."
            )
            return
        password = secrets.token_urlsafe(12)
        user_model.objects.create_superuser("admin", "admin@localhost", password)
        self.stdout.write(
            f"Created user 'admin' with password {password}  (shown once; write it down)."
        )
        self.stdout.write(f"Log in at {login_url} as 'admin'.")

    def _demo_token(self) -> str:
        """Reuse the demo token kept in var/ so the demo URL survives restarts."""
        token_file = Path(settings.BASE_DIR) / "var" / "demo-endpoint-token"
        endpoint = CallbackEndpoint.objects.filter(name=DEMO_ENDPOINT).first()
        if endpoint is not None and token_file.exists():
            token = token_file.read_text().strip()
            if hash_token(token) == endpoint.token_hash:
                return token
        if endpoint is None:
            token = create_callback_endpoint(name=DEMO_ENDPOINT).token
        else:
            token = rotate_endpoint_token(endpoint=endpoint).token
        token_file.parent.mkdir(exist_ok=True)
        token_file.write_text(token)
        token_file.chmod(0o600)
        return token

    def _post_examples(self, path: str) -> None:
        client = Client(HTTP_HOST="localhost")
        files = sorted(DEMO_PAYLOADS.glob("*.json"))
        for file in files:
            response = client.post(path, data=file.read_bytes(), content_type="application/json")
            answer = json.loads(response.content or b"{}")
            self.stdout.write(f"  posted {file.name}: HTTP {response.status_code} {answer}")
        self.stdout.write(f"Loaded {len(files)} example callbacks; {Alarm.objects.count()} alarms.")
