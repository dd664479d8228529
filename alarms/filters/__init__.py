"""The one filter vocabulary of alarm lists: API, console and admin (DESIGN §4)."""
