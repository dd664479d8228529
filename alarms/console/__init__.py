"""The operator console: the board and alarm pages, server-rendered with htmx."""
