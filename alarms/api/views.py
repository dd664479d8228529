"""The operator REST API (DESIGN §4): thin views over ``alarms.selectors``/``filters`` (reads)
and ``alarms.services`` (writes).

Errors from the services map onto HTTP in one place, ``alarms.api.exceptions.exception_handler``:
``PermissionDenied`` → 403 and ``ValidationError`` → 400 with the offending field named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.apps import apps
from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import status, viewsets
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.decorators import action
from rest_framework.pagination import BasePagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle

from ..filters.fields import MAX_ID
from ..filters.filtersets import (
    AlarmFilterSet,
    CallbackEndpointFilterSet,
    DeliveryFilterSet,
    InstanceFilterSet,
    PolicyFilterSet,
)
from ..models import Alarm, AlarmEvent, CallbackEndpoint, Delivery, Instance, Note, Policy
from ..permissions import (
    ACKNOWLEDGE_ALARM,
    ANNOTATE_ALARM,
    VIEW_ALARM,
    VIEW_CALLBACK_ENDPOINT,
    VIEW_DELIVERY,
    VIEW_INSTANCE,
    VIEW_POLICY,
)
from ..selectors.alarms import BOARD_ORDER, alarm_list_queryset
from ..selectors.deliveries import with_alarm_ids
from ..services.operator import (
    acknowledge_alarm,
    add_note,
    bulk_acknowledge,
    bulk_unacknowledge,
    unacknowledge_alarm,
)
from .authentication import HashedTokenAuthentication
from .pagination import KeysetCursorPagination
from .permissions import HasActionPermissions, IsStaff
from .serializers import (
    AcknowledgeSerializer,
    AlarmDetailSerializer,
    AlarmSerializer,
    BulkAcknowledgeResponseSerializer,
    BulkIdsSerializer,
    BulkUnacknowledgeResponseSerializer,
    CallbackEndpointSerializer,
    DeliverySerializer,
    InstanceSerializer,
    NoteCreateSerializer,
    NoteSerializer,
    PolicySerializer,
)

if TYPE_CHECKING:
    # Stub-only alias: a permission class or a composition such as `IsAuthenticated & IsStaff`.
    from rest_framework.permissions import _PermissionClass

T = TypeVar("T")

# Token first: an anonymous request then gets 401 with `WWW-Authenticate: Token` (DRF takes the
# header from the first class); session auth still works for the browser and checks CSRF.
AUTHENTICATION_CLASSES = [HashedTokenAuthentication, SessionAuthentication]

WRITE_THROTTLE_SCOPE = "alarm_write"


class AlarmWriteThrottle(ScopedRateThrottle):
    """Per-user rate limit of the write actions (``DEFAULT_THROTTLE_RATES["alarm_write"]``)."""


ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input; keys name the fields."),
    401: OpenApiResponse(OpenApiTypes.OBJECT, description="Not authenticated."),
    403: OpenApiResponse(OpenApiTypes.OBJECT, description="The user lacks the required role."),
}
# Path ids are digits only (`lookup_value_regex`): longer ones get a 404, not a database error.
ID_PARAMETER = OpenApiParameter(
    "id",
    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    OpenApiParameter.PATH,
    description="Object id.",
)
NOT_FOUND = {404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such object.")}
THROTTLED = {429: OpenApiResponse(OpenApiTypes.OBJECT, description="Too many write requests.")}


class ApiViewSetMixin:
    """Authentication, pagination and the fail-closed permission table shared by every view."""

    # Typed as APIView declares them, so the mixin and the view bases agree.
    authentication_classes: Sequence[type[BaseAuthentication]] = AUTHENTICATION_CLASSES
    permission_classes: Sequence[_PermissionClass] = [IsAuthenticated, HasActionPermissions]
    pagination_class: type[BasePagination] | None = KeysetCursorPagination
    # JSON only: one request format to document, validate and fuzz.
    parser_classes: Sequence[type[BaseParser]] = [JSONParser]
    # Digits only, so `alarms/acknowledge/` can never be read as an alarm id.
    lookup_value_regex = r"[0-9]{1,18}"
    action_permissions: dict[str, Iterable[str]] = {}


# --- alarms ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List alarms",
        description="Newest `first_occurred_at` first (then newest id), cursor-paginated. "
        "Repeating a filter parameter means any of its values.",
        responses={200: AlarmSerializer(many=True), **ERROR_RESPONSES},
    ),
    retrieve=extend_schema(
        summary="An alarm with its timeline and notes",
        parameters=[ID_PARAMETER],
        responses={200: AlarmDetailSerializer, **ERROR_RESPONSES, **NOT_FOUND},
    ),
)
class AlarmViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Alarms: read by viewers; acknowledged and annotated by operators."""

    serializer_class = AlarmSerializer
    filterset_class = AlarmFilterSet
    cursor_ordering = BOARD_ORDER
    action_permissions = {
        "list": [VIEW_ALARM],
        "retrieve": [VIEW_ALARM],
        "acknowledge": [VIEW_ALARM, ACKNOWLEDGE_ALARM],
        "unacknowledge": [VIEW_ALARM, ACKNOWLEDGE_ALARM],
        "bulk_acknowledge": [VIEW_ALARM, ACKNOWLEDGE_ALARM],
        "bulk_unacknowledge": [VIEW_ALARM, ACKNOWLEDGE_ALARM],
        "notes": [VIEW_ALARM, ANNOTATE_ALARM],
    }
    write_actions = frozenset(
        {"acknowledge", "unacknowledge", "bulk_acknowledge", "bulk_unacknowledge", "notes"}
    )
    throttle_scope = WRITE_THROTTLE_SCOPE

    def get_queryset(self) -> QuerySet[Alarm]:
        queryset = alarm_list_queryset()
        if self.action == "retrieve":
            # Two more queries whatever the timeline's length (users joined in each).
            queryset = queryset.prefetch_related(
                Prefetch("events", queryset=AlarmEvent.objects.select_related("actor")),
                Prefetch("notes", queryset=Note.objects.select_related("author")),
            )
        elif self.action in self.write_actions:
            # The services lock and re-read the row; only existence matters here.
            queryset = Alarm.objects.only("pk")
        return queryset

    def filter_queryset(self, queryset: QuerySet[Alarm, T]) -> QuerySet[Alarm, T]:
        # List filters only: `?status=...` on a detail or action URL must not turn it into a 404.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action == "retrieve":
            return AlarmDetailSerializer
        return AlarmSerializer

    def get_throttles(self) -> list[BaseThrottle]:
        if self.action in self.write_actions:
            return [AlarmWriteThrottle()]
        return []

    def _alarm_response(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        alarm = alarm_list_queryset().get(pk=pk)
        return Response(AlarmSerializer(alarm, context=self.get_serializer_context()).data, code)

    @staticmethod
    def _validated(serializer_class: type[BaseSerializer], data: Any) -> dict[str, Any]:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(
        summary="Acknowledge an alarm",
        description="Idempotent: acknowledging an acknowledged alarm keeps the first "
        "acknowledgement. A non-empty `note` is added as a note each time.",
        request=AcknowledgeSerializer,
        parameters=[ID_PARAMETER],
        responses={200: AlarmSerializer, **ERROR_RESPONSES, **NOT_FOUND, **THROTTLED},
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        alarm = self.get_object()
        data = self._validated(AcknowledgeSerializer, request.data)
        acknowledge_alarm(alarm=alarm, actor=request.user, note=data.get("note", ""))
        return self._alarm_response(alarm.pk)

    @extend_schema(
        summary="Remove an alarm's acknowledgement",
        description="Idempotent: an unacknowledged alarm is returned unchanged.",
        request=None,
        parameters=[ID_PARAMETER],
        responses={200: AlarmSerializer, **ERROR_RESPONSES, **NOT_FOUND, **THROTTLED},
    )
    @action(detail=True, methods=["post"])
    def unacknowledge(self, request: Request, pk: str | None = None) -> Response:
        alarm = self.get_object()
        unacknowledge_alarm(alarm=alarm, actor=request.user)
        return self._alarm_response(alarm.pk)

    @extend_schema(
        summary="Add a note to an alarm",
        request=NoteCreateSerializer,
        parameters=[ID_PARAMETER],
        responses={201: NoteSerializer, **ERROR_RESPONSES, **NOT_FOUND, **THROTTLED},
    )
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str | None = None) -> Response:
        alarm = self.get_object()
        data = self._validated(NoteCreateSerializer, request.data)
        note = add_note(alarm=alarm, author=request.user, text=data["text"])
        note = Note.objects.select_related("author").get(pk=note.pk)
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    def _bulk(self, request: Request, service: Callable[..., int], key: str) -> Response:
        ids = sorted(set(self._validated(BulkIdsSerializer, request.data)["ids"]))
        existing = set(Alarm.objects.filter(pk__in=ids).values_list("pk", flat=True))
        changed = service(alarm_ids=sorted(existing), actor=request.user)
        return Response(
            {
                key: changed,
                "ids": [i for i in ids if i in existing],
                "not_found": [i for i in ids if i not in existing],
            }
        )

    @extend_schema(
        operation_id="alarms_bulk_acknowledge",
        summary="Acknowledge several alarms",
        description="Idempotent. Unknown ids are ignored and reported in `not_found`.",
        request=BulkIdsSerializer,
        responses={200: BulkAcknowledgeResponseSerializer, **ERROR_RESPONSES, **THROTTLED},
    )
    @action(detail=False, methods=["post"], url_path="acknowledge", url_name="bulk-acknowledge")
    def bulk_acknowledge(self, request: Request) -> Response:
        return self._bulk(request, bulk_acknowledge, "acknowledged")

    @extend_schema(
        operation_id="alarms_bulk_unacknowledge",
        summary="Remove the acknowledgement of several alarms",
        description="Idempotent. Unknown ids are ignored and reported in `not_found`.",
        request=BulkIdsSerializer,
        responses={200: BulkUnacknowledgeResponseSerializer, **ERROR_RESPONSES, **THROTTLED},
    )
    @action(detail=False, methods=["post"], url_path="unacknowledge", url_name="bulk-unacknowledge")
    def bulk_unacknowledge(self, request: Request) -> Response:
        return self._bulk(request, bulk_unacknowledge, "unacknowledged")


# --- read-only catalogues --------------------------------------------------------------------


def _read_only_schema(noun: str, serializer: type[BaseSerializer]) -> Any:
    return extend_schema_view(
        list=extend_schema(
            summary=f"List {noun}",
            responses={200: serializer(many=True), **ERROR_RESPONSES},
        ),
        retrieve=extend_schema(
            summary=f"One of the {noun}",
            parameters=[ID_PARAMETER],
            responses={200: serializer, **ERROR_RESPONSES, **NOT_FOUND},
        ),
    )


@_read_only_schema("policies", PolicySerializer)
class PolicyViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Tencent alarm policies seen in callbacks, newest first."""

    queryset = Policy.objects.all()
    serializer_class = PolicySerializer
    filterset_class = PolicyFilterSet
    cursor_ordering = ("-id",)
    action_permissions = {"*": [VIEW_POLICY]}


@_read_only_schema("instances", InstanceSerializer)
class InstanceViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Monitored objects seen in callbacks, newest first."""

    queryset = Instance.objects.all()
    serializer_class = InstanceSerializer
    filterset_class = InstanceFilterSet
    cursor_ordering = ("-id",)
    action_permissions = {"*": [VIEW_INSTANCE]}


@_read_only_schema("callback endpoints", CallbackEndpointSerializer)
class CallbackEndpointViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Callback endpoints, without their secrets."""

    # `only()` keeps the token and password hashes out of memory as well as out of the output.
    queryset = CallbackEndpoint.objects.only(
        "id", "name", "timezone", "is_active", "token_hint", "basic_auth_username", "created_at"
    )
    serializer_class = CallbackEndpointSerializer
    filterset_class = CallbackEndpointFilterSet
    cursor_ordering = ("id",)
    action_permissions = {"*": [VIEW_CALLBACK_ENDPOINT]}


@_read_only_schema("deliveries (staff with view_delivery only)", DeliverySerializer)
class DeliveryViewSet(ApiViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Raw callback deliveries, newest first: staff with ``view_delivery`` only.

    Both, like the admin: staff alone is not a role, and a Viewer who is not staff never sees
    raw bodies (they can hold anything a sender posted).
    """

    queryset = with_alarm_ids(Delivery.objects.all())
    serializer_class = DeliverySerializer
    filterset_class = DeliveryFilterSet
    permission_classes = [IsAuthenticated, IsStaff, HasActionPermissions]
    action_permissions = {"*": [VIEW_DELIVERY]}
    cursor_ordering = ("-received_at", "-id")


# --- OpenAPI schema and docs -----------------------------------------------------------------


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document: for users with a role (``view_alarm``), like the API it describes."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [IsAuthenticated, HasActionPermissions]
    action_permissions = {"*": [VIEW_ALARM]}


def _sidecar_installed() -> bool:
    return apps.is_installed("drf_spectacular_sidecar")


class DocsView(SpectacularSwaggerView):
    """Swagger UI served from our own static files when drf-spectacular-sidecar is installed
    (no CDN needed on an offline network); otherwise drf-spectacular's CDN default."""

    authentication_classes = AUTHENTICATION_CLASSES
    permission_classes = [IsAuthenticated, HasActionPermissions]
    action_permissions = {"*": [VIEW_ALARM]}
    url_name = "api:schema"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        if _sidecar_installed():
            from django.templatetags.static import static

            return static(f"drf_spectacular_sidecar/swagger-ui-dist/{filename}")
        return SpectacularSwaggerView._swagger_ui_resource(filename)

    @staticmethod
    def _swagger_ui_favicon() -> str:
        if _sidecar_installed():
            from django.templatetags.static import static

            return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")
        return SpectacularSwaggerView._swagger_ui_favicon()
