"""Resource areas and resource locations: what OPTIONS _apis and GET _apis/ResourceAreas answer.

Ids, route templates and versions are taken from the real dev.azure.com responses
(real/OPTIONS__apis_dev.azure.com_org_2025-01.json, real/GET__apis_ResourceAreas_dev.azure.com_org_2025-01.json).
Entries for the vssps/vsaex hosts are not in those recordings; their ids come from the official Python
SDK (`location_id` of TokenAdminClient.list_personal_access_tokens and
MemberEntitlementManagementClient.search_user_entitlements) and their versions are not confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Service = Literal["main", "vssps", "vsaex"]

# What an Azure DevOps Server collection serves on its one URL: no Member Entitlement Management (vsaex), which
# the Server specs do not have (docs/azure-devops-behaviours.md §1.2).
SERVER_SERVICES: frozenset[Service] = frozenset({"main", "vssps"})

# Prefixes under which the emulator serves the per-service hosts of one org: vssps.dev.azure.com/{org} ->
# {base}/_vssps/{org}, vsaex.dev.azure.com/{org} -> {base}/_vsaex/{org} (docs/azure-devops-behaviours.md §1.2).
SERVICE_PREFIXES: dict[Service, str] = {"vssps": "_vssps", "vsaex": "_vsaex"}


@dataclass(frozen=True)
class Location:
    id: str
    area: str
    resource_name: str
    route_template: str
    resource_version: int
    min_version: str
    max_version: str
    # "0.0" = never released: only -preview versions are accepted (docs/azure-devops-behaviours.md §2.1).
    released_version: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "area": self.area,
            "resourceName": self.resource_name,
            "routeTemplate": self.route_template,
            "resourceVersion": self.resource_version,
            "minVersion": self.min_version,
            "maxVersion": self.max_version,
            "releasedVersion": self.released_version,
        }


CONNECTION_DATA = Location(
    "00d9565f-ed9c-4a06-9a50-00e7896ccab4", "Location", "ConnectionData", "_apis/{resource}", 1, "1.0", "7.2", "0.0"
)
RESOURCE_AREAS = Location(
    "e81700f7-3be2-46de-8624-2eb35882fcaa",
    "Location",
    "ResourceAreas",
    "_apis/{resource}/{areaId}",
    1,
    "3.2",
    "7.2",
    "0.0",
)
PROJECTS = Location(
    "603fe2ac-9723-48b9-88ad-09305aa6c6e1", "core", "projects", "_apis/{resource}/{*projectId}", 4, "1.0", "7.2", "7.1"
)
TEAMS = Location(
    "d30a3dd1-f8ba-442a-b86a-bd0c0c383e59",
    "core",
    "teams",
    "_apis/projects/{projectId}/{resource}/{*teamId}",
    3,
    "1.0",
    "7.2",
    "7.1",
)
WIQL = Location(
    "1a9c53f7-f243-4447-b110-35ef023636e4",
    "wit",
    "wiql",
    "{project}/{team}/_apis/{area}/{resource}",
    2,
    "1.0",
    "7.2",
    "7.1",
)
WORK_ITEMS = Location(
    "72c7ddf8-2cdc-4f60-90cd-ab71c14a399b",
    "wit",
    "workItems",
    "{project}/_apis/{area}/{resource}/{id}",
    3,
    "1.0",
    "7.2",
    "7.1",
)
WORK_ITEM_CREATE = Location(
    "62d3d110-0047-428c-ad3c-4fe872c91c74",
    "wit",
    "workItems",
    "{project}/_apis/{area}/{resource}/${type}",
    3,
    "1.0",
    "7.2",
    "7.1",
)
WORK_ITEMS_BATCH = Location(
    "908509b6-4248-4475-a1cd-829139ba419f",
    "wit",
    "workItemsBatch",
    "{project}/_apis/{area}/{resource}",
    1,
    "5.0",
    "7.2",
    "7.1",
)
RECYCLE_BIN = Location(
    "b70d8d39-926c-465e-b927-b1bf0e5ca0e0",
    "wit",
    "recyclebin",
    "{project}/_apis/{area}/{resource}/{id}",
    2,
    "2.1",
    "7.2",
    "7.1",
)
REVISIONS = Location(
    "a00c85a5-80fa-4565-99c3-bcd2181434bb",
    "wit",
    "revisions",
    "{project}/_apis/{area}/workItems/{id}/revisions/{revisionNumber}",
    3,
    "1.0",
    "7.2",
    "7.1",
)
PERSONAL_ACCESS_TOKENS = Location(
    "af68438b-ed04-4407-9eb6-f1dbae3f922e",
    "TokenAdmin",
    "personalAccessTokens",
    "_apis/{area}/{resource}/{subjectDescriptor}",
    1,
    "5.0",
    "7.2",
    "7.1",
)
# GetUserEntitlement's location: its id is the one Microsoft's Python SDK asks for (member_entitlement_management
# client `get_user_entitlement`); the route and versions are those of its sibling (not confirmed).
USER_ENTITLEMENT = Location(
    "8480c6eb-ce60-47e9-88df-eca3c801638b",
    "MemberEntitlementManagement",
    "userEntitlements",
    "_apis/{resource}/{userId}",
    3,
    "4.1",
    "7.2",
    "7.1",
)
USER_ENTITLEMENTS = Location(
    "387f832c-dbf2-4643-88e9-c1aa94dbb737",
    "MemberEntitlementManagement",
    "userEntitlements",
    "_apis/{resource}/{userId}",
    3,
    "4.1",
    "7.2",
    "7.1",
)

WORK_ITEM_TYPE_STATES = Location(
    "7c9d7a76-4a09-43e8-b5df-bd792f4ac6aa",
    "wit",
    "workItemTypeStates",
    "{project}/_apis/{area}/workitemtypes/{type}/states",
    1,
    "1.0",
    "7.2",
    "7.1",
)

LOCATIONS_BY_SERVICE: dict[Service, tuple[Location, ...]] = {
    "main": (
        CONNECTION_DATA,
        RESOURCE_AREAS,
        PROJECTS,
        TEAMS,
        WIQL,
        WORK_ITEMS,
        WORK_ITEM_CREATE,
        WORK_ITEMS_BATCH,
        RECYCLE_BIN,
        REVISIONS,
        WORK_ITEM_TYPE_STATES,
    ),
    "vssps": (CONNECTION_DATA, RESOURCE_AREAS, PERSONAL_ACCESS_TOKENS),
    "vsaex": (CONNECTION_DATA, RESOURCE_AREAS, USER_ENTITLEMENTS, USER_ENTITLEMENT),
}


@dataclass(frozen=True)
class ResourceArea:
    id: str
    name: str
    service: Service


# Real area ids and names (real/GET__apis_ResourceAreas...json), each mapped to the emulated host that
# serves it. TokenAdministration lives on vstoken.dev.azure.com, which is not emulated, so it is absent.
RESOURCE_AREA_TABLE: tuple[ResourceArea, ...] = (
    ResourceArea("79134c72-4a58-4b42-976c-04e7115f32bf", "core", "main"),
    ResourceArea("5264459e-e5e0-4bd8-b118-0985e68a4ec5", "wit", "main"),
    ResourceArea("00025394-6065-48ca-87d9-7f5672854ef7", "Location Service", "main"),
    ResourceArea("55967393-20ef-45c6-a96c-b5d5d5986a9a", "Tokens", "vssps"),
    ResourceArea("af68438b-ed04-4407-9eb6-f1dbae3f922e", "TokenAdmin", "vssps"),
    ResourceArea("bb1e7ec9-e901-4b68-999a-de7012b920f8", "Graph", "vssps"),
    ResourceArea("951917ac-a960-4999-8464-e3f0aa25b381", "SPS Location Service", "vssps"),
    ResourceArea("68ddce18-2501-45f1-a17b-7931a9922690", "MemberEntitlementManagement", "vsaex"),
)
