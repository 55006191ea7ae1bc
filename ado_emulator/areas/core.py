"""core: projects and teams."""

from __future__ import annotations

import uuid
from typing import Any

from ado_emulator import workitems as wi
from ado_emulator.call import NONE, Call, Route, access_denied, int_param, ok, route
from ado_emulator.errors import Reply
from ado_emulator.locations import PROJECTS, TEAMS
from ado_emulator.model import Project


def default_team_id(project: Project) -> str:
    return str(uuid.uuid5(uuid.UUID(project.id), "default team"))


def _project_ref(call: Call, project: Project) -> dict[str, Any]:
    # TeamProjectReference keys (examples/core/7.1/projects/GET__projects.json, spec TeamProjectReference).
    body: dict[str, Any] = {"id": project.id, "name": project.name}
    if project.description:
        body["description"] = project.description
    body.update(
        {
            "url": f"{call.links.org_url}/_apis/projects/{project.id}",
            "state": "wellFormed",
            "revision": 1,
            "visibility": "public" if call.data.org.public_projects else "private",
            "lastUpdateTime": wi.iso(call.host.started_at),
        }
    )
    return body


# Without $top the list holds 100 projects (docs/azure-devops-behaviours.md §4.2).
PROJECTS_PAGE = 100


def projects_list(call: Call) -> Reply:
    """A page of projects; `x-ms-continuationtoken` says how many were served when more remain."""
    projects = sorted(call.data.projects.values(), key=lambda p: p.name.lower())
    skip = int_param(call, "$skip", default=0) or 0
    # The continuation token counts the projects already fetched (spec: "Pointer that shows how many
    # projects already been fetched"); it adds to $skip here (how the two combine is not confirmed).
    skip += int_param(call, "continuationToken", default=0) or 0
    top = int_param(call, "$top", default=PROJECTS_PAGE) or PROJECTS_PAGE
    page = projects[skip : skip + top]
    reply = ok({"count": len(page), "value": [_project_ref(call, p) for p in page]})
    if skip + top < len(projects):
        reply.headers.append(("x-ms-continuationtoken", str(skip + top)))
    return reply


def project_get(call: Call) -> Reply:
    project = call.state.project_or_404(call.data, call.params["project"])
    body = _project_ref(call, project)
    team_id = default_team_id(project)
    body["_links"] = {
        "self": {"href": body["url"]},
        "collection": {"href": f"{call.links.org_url}/_apis/projectCollections/{call.data.org.id}"},
        "web": {"href": f"{call.links.org_url}/{project.name}"},
    }
    body["defaultTeam"] = {
        "id": team_id,
        "name": project.default_team_name,
        "url": f"{call.links.org_url}/_apis/projects/{project.id}/teams/{team_id}",
    }
    return ok(body)


def project_delete(call: Call) -> Reply:
    # The app's non-destructive probe for vso.project_manage deletes the nil id and expects 404
    # (docs/azure-devops-behaviours.md §4.2). For a project that exists the service queues an operation (202
    # OperationReference, as for POST projects); the emulator never removes a project, so demo data cannot be lost by a
    # probe gone wrong. Deleting needs a project (or organization) administrator: 403 otherwise (§4.4); a project
    # that does not exist is 404 before any permission is looked at.
    project = call.state.project_or_404(call.data, call.params["project"])
    if not call.state.is_project_admin(call.me.id, call.data, project):
        raise access_denied(call, resource=project.name, permission="Delete team project")
    operation_id = str(uuid.uuid5(uuid.UUID(project.id), "delete"))
    return ok(
        {"id": operation_id, "status": "queued", "url": f"{call.links.org_url}/_apis/operations/{operation_id}"},
        status=202,
    )


def teams_list(call: Call) -> Reply:
    project = call.state.project_or_404(call.data, call.params["project"])
    team_id = default_team_id(project)
    team = {
        "id": team_id,
        "name": project.default_team_name,
        "url": f"{call.links.org_url}/_apis/projects/{project.id}/teams/{team_id}",
        "description": "The default project team.",
        "identityUrl": call.links.identity_url(team_id),
        "projectName": project.name,
        "projectId": project.id,
    }
    return ok({"value": [team], "count": 1})


ROUTES: tuple[Route, ...] = (
    route("main", "GET", "projects", NONE, PROJECTS, projects_list),
    route("main", "GET", "projects/{project}", NONE, PROJECTS, project_get),
    route("main", "DELETE", "projects/{project}", NONE, PROJECTS, project_delete),
    route("main", "GET", "projects/{project}/teams", NONE, TEAMS, teams_list),
)
