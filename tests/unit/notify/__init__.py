"""Outbound notification building blocks: pure, no database, no network."""
