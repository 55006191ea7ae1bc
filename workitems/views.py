"""Work item pages: list, edit, delete; every change goes through workitems.services."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from alm import exceptions as ado
from alm.models import AlmConnection
from workitems import services as work
from workitems.forms import WorkItemEditForm, WorkItemFilterForm


def _connection() -> AlmConnection | None:
    return AlmConnection.objects.default()


def _problem(request: HttpRequest, message: str, *, status: int = 200) -> HttpResponse:
    return render(request, "workitems/work_item_problem.html", {"message": message}, status=status)


def work_item_list(request: HttpRequest) -> HttpResponse:
    connection = _connection()
    if connection is None:
        return _problem(request, "No Azure DevOps connection has been set up yet. Ask an administrator to add one.")
    filters = WorkItemFilterForm(request.GET or None)
    values = filters.cleaned_data if filters.is_valid() else {}
    try:
        page = work.list_work_items(
            user=request.user,
            connection=connection,
            type_=values.get("type") or None,
            state=values.get("state") or None,
            before=values.get("before"),
            after=values.get("after"),
            per_page=values.get("per_page") or 100,
        )
    except (ado.AdoError, work.ActingRefused) as error:
        return _problem(request, error.message, status=502 if isinstance(error, ado.AdoError) else 200)
    query = request.GET.copy()
    for cursor in ("before", "after"):
        query.pop(cursor, None)
    return render(
        request,
        "workitems/work_item_list.html",
        {
            "connection": connection,
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "actor": work.preview_actor(user=request.user, connection=connection),
        },
    )


def work_item_edit(request: HttpRequest, work_item_id: int) -> HttpResponse:
    connection = _connection()
    if connection is None:
        return _problem(request, "No Azure DevOps connection has been set up yet.")
    try:
        item, notice = work.get_work_item(user=request.user, connection=connection, work_item_id=work_item_id)
    except (ado.AdoError, work.ActingRefused) as error:
        status = 404 if isinstance(error, ado.NotFound) else 502 if isinstance(error, ado.AdoError) else 200
        return _problem(request, error.message, status=status)
    try:
        states = work.work_item_states(user=request.user, connection=connection, type_name=item.type)
    except (ado.AdoError, work.ActingRefused):
        states = ()  # the item's own state still shows; the save will tell what Azure DevOps thinks
    states = tuple(dict.fromkeys((*states, item.state)))
    actor = work.preview_actor(user=request.user, connection=connection)
    initial = {"title": item.title, "state": item.state, "rev": item.rev, "actor": getattr(actor, "kind", "")}
    form = WorkItemEditForm(request.POST or None, states=states, initial=initial)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            actor, _updated = work.update_work_item(
                user=request.user,
                connection=connection,
                work_item_id=work_item_id,
                rev=form.cleaned_data["rev"],
                title=form.cleaned_data["title"],
                state=form.cleaned_data["state"],
                expected_actor=form.cleaned_data["actor"] or None,
            )
        except ado.Conflict as error:
            conflict = error.message
            form = WorkItemEditForm(states=states, initial=initial)
        except (ado.AdoError, work.ActingRefused) as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Work item {work_item_id} saved in Azure DevOps {actor.describe()}.")
            return redirect("work_item_edit", work_item_id=work_item_id)
    return render(
        request,
        "workitems/work_item_edit.html",
        {
            "item": item,
            "form": form,
            "conflict": conflict,
            "notice": notice,
            "connection": connection,
            "actor": actor,
        },
    )


def work_item_delete(request: HttpRequest, work_item_id: int) -> HttpResponse:
    connection = _connection()
    if connection is None:
        return _problem(request, "No Azure DevOps connection has been set up yet.")
    if request.method == "POST":
        try:
            actor = work.delete_work_item(
                user=request.user,
                connection=connection,
                work_item_id=work_item_id,
                expected_actor=request.POST.get("actor") or None,
            )
        except (ado.AdoError, work.ActingRefused) as error:
            messages.error(request, error.message)
            return redirect("work_item_edit", work_item_id=work_item_id)
        messages.success(request, f"Work item {work_item_id} moved to the Azure DevOps recycle bin {actor.describe()}.")
        return redirect(reverse("work_items"))
    return render(
        request,
        "workitems/work_item_delete.html",
        {
            "work_item_id": work_item_id,
            "actor": work.preview_actor(user=request.user, connection=connection),
        },
    )
