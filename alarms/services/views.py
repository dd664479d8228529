"""Saved board views (``SavedView``): create, delete, make the default landing view.

Who may do what (decided here, so the console and any later API agree):

- everyone who may view alarms saves personal views and deletes their own;
- sharing a view with everyone needs the Operator's ``acknowledge_alarm`` permission, or staff;
- only staff make a shared view the default landing view, and delete other people's shared views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ..models import SavedView
from ..permissions import ACKNOWLEDGE_ALARM, VIEW_ALARM

if TYPE_CHECKING:
    from ..permissions import Actor

NAME_MAX_LENGTH = SavedView._meta.get_field("name").max_length or 100
QUERY_MAX_LENGTH = SavedView._meta.get_field("query").max_length or 2000


def can_share_views(actor: Actor) -> bool:
    return bool(actor.is_staff or actor.has_perm(ACKNOWLEDGE_ALARM))


def can_set_default_view(actor: Actor) -> bool:
    return bool(actor.is_staff)


def can_delete_view(actor: Actor, view: SavedView) -> bool:
    return view.owner_id == actor.pk or bool(view.shared and actor.is_staff)


@transaction.atomic
def create_saved_view(*, owner: Actor, name: str, query: str, shared: bool = False) -> SavedView:
    """Save ``query`` (a board query string, already canonical) under ``name`` for ``owner``."""
    # `is_authenticated` narrows Actor to User (AnonymousUser has Literal[False]).
    if not owner.is_authenticated or not owner.has_perm(VIEW_ALARM):
        raise PermissionDenied(_("You may not save board views."))
    if shared and not can_share_views(owner):
        raise PermissionDenied(_("You may not share views with everyone."))
    name = name.strip()
    if not name:
        raise ValidationError(_("Give the view a name."))
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("The name is too long (at most %(n)d characters).") % {"n": NAME_MAX_LENGTH}
        )
    if len(query) > QUERY_MAX_LENGTH:
        raise ValidationError(_("This filter is too long to save."))
    try:
        # A savepoint: the unique (owner, name) constraint decides a race between two tabs.
        with transaction.atomic():
            return SavedView.objects.create(owner=owner, name=name, query=query, shared=shared)
    except IntegrityError as exc:
        taken = _("You already have a view called “%(name)s”.") % {"name": name}
        raise ValidationError(taken) from exc


@transaction.atomic
def delete_saved_view(*, actor: Actor, view: SavedView) -> None:
    if not can_delete_view(actor, view):
        raise PermissionDenied(_("You may not delete this view."))
    SavedView.objects.filter(pk=view.pk).delete()


@transaction.atomic
def set_default_view(*, actor: Actor, view: SavedView | None) -> SavedView | None:
    """Make the shared ``view`` everyone's landing view (None: no default any more)."""
    if not can_set_default_view(actor):
        raise PermissionDenied(_("Only staff choose the default view."))
    if view is not None and not view.shared:
        raise ValidationError(_("Only a shared view can be the default."))
    # Lock the current default first: two staff choosing at once serialise here, and the
    # partial unique constraint (savedview_one_default) is never hit mid-switch.
    list(SavedView.objects.select_for_update().filter(is_default=True))
    SavedView.objects.filter(is_default=True).update(is_default=False)
    if view is None:
        return None
    SavedView.objects.filter(pk=view.pk).update(is_default=True)
    view.is_default = True
    return view
