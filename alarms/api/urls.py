from __future__ import annotations

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from ..ingress.callback import CallbackView
from .channels import ChannelViewSet
from .export import AlarmExportView
from .silences import SilenceViewSet
from .stats import StatsView
from .views import (
    AlarmViewSet,
    CallbackEndpointViewSet,
    DeliveryViewSet,
    DocsView,
    InstanceViewSet,
    PolicyViewSet,
    SchemaView,
)

app_name = "api"

router = SimpleRouter()
router.register("alarms", AlarmViewSet, basename="alarm")
router.register("policies", PolicyViewSet, basename="policy")
router.register("instances", InstanceViewSet, basename="instance")
router.register("endpoints", CallbackEndpointViewSet, basename="endpoint")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("channels", ChannelViewSet, basename="channel")
router.register("silences", SilenceViewSet, basename="silence")

urlpatterns = [
    # Tencent users paste URLs by hand: accept a missing trailing slash rather than redirect
    # (a redirected POST is not retried as a POST).
    re_path(r"^callbacks/(?P<token>[^/]+)/?$", CallbackView.as_view(), name="callback"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(), name="docs"),
    path("stats/", StatsView.as_view(), name="stats"),
    # Before the router: `alarms/<id>/` takes digits only, but keep the order obvious.
    path("alarms/export/", AlarmExportView.as_view(), name="alarm-export"),
    *router.urls,
]
