"""The operator console's URLs (DESIGN §6): the board, the alarm page and their actions."""

from __future__ import annotations

from django.urls import path

from . import bulk, saved_views, silences, stats, views

app_name = "alarms"

urlpatterns = [
    # Served by saved_views first: without a filter the board lands on the default view.
    path("", saved_views.board, name="dashboard"),
    path("stats/", stats.stats_page, name="stats"),
    path("views/", saved_views.saved_view_list, name="saved_views"),
    path("views/new/", saved_views.save_view, name="save_view"),
    path("views/<int:pk>/delete/", saved_views.delete_view, name="delete_view"),
    path("views/<int:pk>/default/", saved_views.make_default, name="default_view"),
    path("silences/", silences.silence_list, name="silences"),
    path("silences/new/", silences.create, name="create_silence"),
    path("silences/<int:pk>/end/", silences.end, name="end_silence"),
    path("alarms/bulk/", bulk.bulk_action, name="bulk"),
    path("alarms/<int:pk>/", views.alarm_detail, name="alarm"),
    path("alarms/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("alarms/<int:pk>/notes/", views.add_alarm_note, name="add_note"),
    path("timezone/", views.set_timezone, name="set_timezone"),
]
