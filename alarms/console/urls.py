from __future__ import annotations

from django.urls import path

from . import views

app_name = "alarms"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("alarms/<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
]
