from __future__ import annotations

import importlib

from django.db import migrations

roles = importlib.import_module("alarms.migrations.0002_roles")


class Migration(migrations.Migration):
    """Re-sync the role groups: Viewers gain view_silence, Operators add/change/delete_silence."""

    dependencies = [("alarms", "0008_outbound_people_search")]

    operations = [migrations.RunPython(roles.create_roles, migrations.RunPython.noop)]
