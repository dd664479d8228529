"""Production settings (DEBUG off) with one change, so a benchmark writes nothing into the tree.

Static files are collected into a throwaway folder (``ALARMHUB_BENCH_STATIC_ROOT``) with
Django's ``ManifestStaticFilesStorage``: pages resolve the same hashed names as production's
WhiteNoise storage, without spending seconds pre-compressing files the benchmark never fetches.
"""

from __future__ import annotations

import os
from pathlib import Path

from alarmhub.settings import *  # noqa: F403
from alarmhub.settings import STORAGES

STATIC_ROOT = Path(os.environ["ALARMHUB_BENCH_STATIC_ROOT"])
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
