"""Reads shared by the callback view, admin, console and API (one module per subject)."""
