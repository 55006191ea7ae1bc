"""Work item pages: list, edit, delete; every change goes through workitems.services."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alm.exceptions import AlmlinkError, Conflict, http_status
from alm.models import AlmConnection
from profiles.auth import SignedInRequest
from profiles.limits import limit_ado_calls
from workitems import services as work
from workitems.forms import WorkItemEditForm, WorkItemFilterForm

NO_CONNECTION = "No Azure DevOps connection has been set up yet. Ask an administrator to add one."


def _problem(request: HttpRequest, error: AlmlinkError | str) -> HttpResponse:
    message = error if isinstance(error, str) else error.message
    status = 200 if isinstance(error, str) else http_status(error)
    # An outage (transient) is worded for the person reading it; the detail is kept for their administrator.
    transient = not isinstance(error, str) and error.is_transient
    context = {"message": message, "status": status, "transient": transient}
    return render(request, "workitems/work_item_problem.html", context, status=status)


def with_connection(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Give the view the default ALM connection; without one, say so instead."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        connection = AlmConnection.objects.default()
        if connection is None:
            return _problem(request, NO_CONNECTION)
        return view(request, connection, *args, **kwargs)

    return wrapper


@require_http_methods(["GET"])
@limit_ado_calls
@with_connection
def work_item_list(request: SignedInRequest, connection: AlmConnection) -> HttpResponse:
    filters = WorkItemFilterForm(request.GET or None)
    values = filters.cleaned_data if filters.is_valid() else {}
    try:
        page = work.list_work_items(
            user=request.user,
            connection=connection,
            type_=values.get("type") or None,
            state=values.get("state") or None,
            page=values.get("page") or 1,
            per_page=values.get("per_page") or 100,
        )
    except AlmlinkError as error:
        return _problem(request, error)
    query = request.GET.copy()
    query.pop("page", None)
    preview = work.preview_actor(user=request.user, connection=connection)
    context = {"connection": connection, "page": page, "filters": filters, "query": query.urlencode()}
    return render(request, "workitems/work_item_list.html", {**context, "preview": preview})


@require_http_methods(["GET", "POST"])
@limit_ado_calls
@with_connection
def work_item_edit(request: SignedInRequest, connection: AlmConnection, work_item_id: int) -> HttpResponse:
    try:
        item, notice = work.get_work_item(user=request.user, connection=connection, work_item_id=work_item_id)
    except AlmlinkError as error:
        return _problem(request, error)
    preview = work.preview_actor(user=request.user, connection=connection)
    states = work.STATES_BY_TYPE.get(item.type, work.ALL_STATES)
    initial = {"title": item.title, "state": item.state, "rev": item.rev, "actor": preview.kind}
    form = WorkItemEditForm(request.POST or None, states=states, initial=initial)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            actor, _item = work.update_work_item(
                user=request.user, connection=connection, work_item_id=work_item_id, **form.change()
            )
        except Conflict as error:
            conflict, form = error.message, WorkItemEditForm(states=states, initial=initial)
        except AlmlinkError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Work item {work_item_id} saved in Azure DevOps {actor.describe()}.")
            return redirect("work_item_edit", work_item_id=work_item_id)
    context = {"item": item, "form": form, "conflict": conflict, "notice": notice, "connection": connection}
    return render(request, "workitems/work_item_edit.html", {**context, "preview": preview})


@require_http_methods(["GET", "POST"])
@limit_ado_calls
@with_connection
def work_item_delete(request: SignedInRequest, connection: AlmConnection, work_item_id: int) -> HttpResponse:
    if request.method == "GET":
        try:  # the confirmation names the item: its type and title
            item, _notice = work.get_work_item(user=request.user, connection=connection, work_item_id=work_item_id)
        except AlmlinkError as error:
            return _problem(request, error)
        preview = work.preview_actor(user=request.user, connection=connection)
        context = {"work_item_id": work_item_id, "item": item, "preview": preview}
        return render(request, "workitems/work_item_delete.html", context)
    try:
        actor = work.delete_work_item(
            user=request.user,
            connection=connection,
            work_item_id=work_item_id,
            expected_actor=request.POST.get("actor"),
        )
    except AlmlinkError as error:
        messages.error(request, error.message)
        return redirect("work_item_edit", work_item_id=work_item_id)
    messages.success(request, f"Work item {work_item_id} moved to the Azure DevOps recycle bin {actor.describe()}.")
    return redirect("work_items")
