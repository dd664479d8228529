"""The public callback URL: receive, bound, store, answer (DESIGN §4 "Callback")."""
