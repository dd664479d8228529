from __future__ import annotations

import importlib

from django.db import migrations

roles = importlib.import_module("alarms.migrations.0002_roles")


class Migration(migrations.Migration):
    """Re-sync the role groups: Operators gain alarms.reprocess_delivery."""

    dependencies = [("alarms", "0003_labels_and_reprocess_permission")]

    operations = [migrations.RunPython(roles.create_roles, migrations.RunPython.noop)]
