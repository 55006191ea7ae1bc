"""Location: OPTIONS _apis, ConnectionData and ResourceAreas."""

from __future__ import annotations

from typing import Any

from ado_emulator.call import ALL, NONE, Call, Route, ok, route, service_url
from ado_emulator.errors import Reply
from ado_emulator.locations import (
    CONNECTION_DATA,
    LOCATIONS_BY_SERVICE,
    RESOURCE_AREA_TABLE,
    RESOURCE_AREAS,
    Location,
    Service,
)
from ado_emulator.model import ANONYMOUS_ID, LOCATION_SERVICE_OWNER, Identity


def _identity_json(identity: Identity) -> dict[str, Any]:
    # Keys and order of real/GET__apis_ConnectionData_dev.azure.com_org_2025-01.json (docs/azure-devops-behaviours.md
    # §2.1).
    return {
        "id": identity.id,
        "descriptor": identity.descriptor,
        "subjectDescriptor": identity.subject_descriptor,
        "providerDisplayName": identity.display_name,
        "isActive": True,
        "properties": {"Account": {"$type": "System.String", "$value": identity.email}},
        "resourceVersion": 2,
        "metaTypeId": 0,
    }


def _anonymous_json() -> dict[str, Any]:
    # The anonymous user of a public-project org: only the id is confirmed (docs/azure-devops-behaviours.md §2.1); the
    # rest mirrors the on-prem unauthenticated identity and is not confirmed.
    return {
        "id": ANONYMOUS_ID,
        "descriptor": f"Microsoft.TeamFoundation.UnauthenticatedIdentity;{ANONYMOUS_ID}",
        "providerDisplayName": "Anonymous",
        "isActive": True,
        "properties": {},
        "resourceVersion": 2,
        "metaTypeId": 255,
    }


def _served_locations(call: Call) -> list[Location]:
    # Server kind: one URL serves every area it has, so it lists all their locations.
    services: tuple[Service, ...] = ("main", "vssps") if call.data.org.kind == "server" else (call.service,)
    seen: dict[str, Location] = {}
    for service in services:
        for location in LOCATIONS_BY_SERVICE[service]:
            seen.setdefault(location.id, location)
    return list(seen.values())


def options_apis(call: Call) -> Reply:
    """OPTIONS _apis: every resource location this host serves (docs/azure-devops-behaviours.md §5.1)."""
    value = [location.as_json() for location in _served_locations(call)]
    return ok({"count": len(value), "value": value})


def options_area(call: Call) -> Reply:
    """OPTIONS _apis/{area}: the locations of one area, which Microsoft's Node SDK asks before its first call to
    that area (docs/azure-devops-behaviours.md §8.1). An area this host does not serve lists nothing (not
    confirmed)."""
    wanted = call.params["area"].lower()
    value = [location.as_json() for location in _served_locations(call) if location.area.lower() == wanted]
    return ok({"count": len(value), "value": value})


def connection_data(call: Call) -> Reply:
    user = _identity_json(call.identity) if call.identity else _anonymous_json()
    org = call.data.org
    return ok(
        {
            "authenticatedUser": user,
            "authorizedUser": user,
            "instanceId": org.id,
            "deploymentId": call.host.deployment_id,
            "deploymentType": "hosted" if org.kind == "services" else "onPremises",
            "locationServiceData": {
                "serviceOwner": LOCATION_SERVICE_OWNER,
                "defaultAccessMappingMoniker": "PublicAccessMapping",
                "lastChangeId": 424239147,
                "lastChangeId64": 424239147,
            },
        }
    )


def _areas(call: Call) -> list[dict[str, Any]]:
    # On-prem returns an empty list and clients use the collection URL for everything (docs/azure-devops-behaviours.md
    # §1.2).
    if call.data.org.kind == "server":
        return []
    return [
        {"id": area.id, "name": area.name, "locationUrl": service_url(call.host, call.data, area.service) + "/"}
        for area in RESOURCE_AREA_TABLE
    ]


def resource_areas(call: Call) -> Reply:
    value = _areas(call)
    return ok({"count": len(value), "value": value})


ROUTES: tuple[Route, ...] = (
    route(ALL, "OPTIONS", "", NONE, None, options_apis),
    route(ALL, "OPTIONS", "{area}", NONE, None, options_area),
    route(ALL, "GET", "connectiondata", NONE, CONNECTION_DATA, connection_data, anonymous_ok=True),
    route(ALL, "GET", "resourceareas", NONE, RESOURCE_AREAS, resource_areas),
)
