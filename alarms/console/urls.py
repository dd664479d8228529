"""The operator console's URLs (DESIGN §6): the board, the alarm page and their actions."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "alarms"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("alarms/<int:pk>/", views.alarm_detail, name="alarm"),
    path("alarms/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("alarms/<int:pk>/notes/", views.add_alarm_note, name="add_note"),
    path("timezone/", views.set_timezone, name="set_timezone"),
]
