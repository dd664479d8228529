from __future__ import annotations

from django.urls import path

from .callbacks import CallbackView

app_name = "api"

urlpatterns = [
    path("callbacks/<str:token>/", CallbackView.as_view(), name="callback"),
]
