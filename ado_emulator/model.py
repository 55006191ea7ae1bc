"""The emulator's value types: organizations, identities, projects, PATs, the request log and the knobs.

Everything here is a frozen dataclass so it can be handed to tests and other threads without a lock.
Sections "§N.N" refer to docs/azure-devops-behaviours.md (it names the public sources).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

OrgKind = Literal["services", "server"]

# The anonymous identity a public-project organization gives to a request without usable credentials; the Azure CLI
# rejects a token whose connectionData comes back with this id (docs/azure-devops-behaviours.md §2.1, 3.2).
ANONYMOUS_ID = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"

# One fake Entra tenant for every emulated identity: it only shows up inside descriptors
# (docs/azure-devops-behaviours.md §2.1).
TENANT_ID = "5e1f7b5c-0d1a-4c55-9a7e-a1b2c3d4e5f6"

# The deployment-wide "Location Service" id of dev.azure.com, as in real/GET__apis_ConnectionData
# (docs/azure-devops-behaviours.md §2.1).
LOCATION_SERVICE_OWNER = "00025394-6065-48ca-87d9-7f5672854ef7"


def subject_descriptor_for(identity_id: str) -> str:
    """Graph subject descriptor: "aad." + base64url of the id text, as in the real connectionData
    (docs/azure-devops-behaviours.md §2.1)."""
    encoded = base64.urlsafe_b64encode(identity_id.encode()).decode().rstrip("=")
    return f"aad.{encoded}"


@dataclass(frozen=True)
class Identity:
    id: str
    display_name: str
    email: str

    @property
    def descriptor(self) -> str:
        # Format from the real connectionData: ClaimsIdentity;{tenantId}\{upn} (docs/azure-devops-behaviours.md §2.1).
        return f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{TENANT_ID}\\{self.email}"

    @property
    def subject_descriptor(self) -> str:
        return subject_descriptor_for(self.id)


@dataclass(frozen=True)
class Org:
    id: str
    name: str
    kind: OrgKind = "services"
    public_projects: bool = False
    # Server kind only: the collection's path below the server root, e.g. "tfs/DefaultCollection".
    collection_path: str | None = None
    # Highest api-version the deployment accepts: 7.2 on Services (docs/azure-devops-behaviours.md §7); Server 2022.1+
    # speaks 7.1, Server 2022 only 7.0 (docs/azure-devops-behaviours.md §7), so the server kind is configurable per
    # organization.
    max_api_version: str = "7.2"

    @property
    def path(self) -> str:
        """The URL path of the organization (services) or collection (server) below the emulator root."""
        return self.collection_path if self.kind == "server" and self.collection_path else self.name


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    description: str = ""
    # The process the project was created from: "Scrum" or "Agile" (ado_emulator.workitems.PROCESSES).
    process: str = "Scrum"

    @property
    def default_team_name(self) -> str:
        # Every new project gets "<project> Team" (examples/core/7.1/teams/GET__projects__projectId__teams.json).
        return f"{self.name} Team"


@dataclass(frozen=True)
class PatRecord:
    """A stored personal access token. The token text never appears in repr() or the request log."""

    token: str = field(repr=False)
    authorization_id: str
    identity_id: str
    display_name: str
    scopes: str
    valid_from: datetime
    valid_to: datetime
    # Organization names the token is limited to; None = "All accessible organizations" (docs/azure-devops-behaviours.md
    # §3.6).
    orgs: tuple[str, ...] | None
    revoked: bool = False


@dataclass(frozen=True)
class RequestRecord:
    """One API request as the emulator saw it. No Authorization header, no token (house rule: secrets)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    identity_id: str | None
    started: float
    ended: float


@dataclass(frozen=True)
class Behaviour:
    """Answers the facts do not pin down. Defaults are the best reading of the sources; tests can flip them."""

    # docs/azure-devops-behaviours.md §7: "Not confirmed: GET without api-version" (widely reported to work, the server
    # picks a default).
    allow_get_without_api_version: bool = True
    # A plain version (no -preview) above a resource's released version is refused with
    # VssInvalidPreviewVersionException. docs/azure-devops-behaviours.md §2.1 says connectionData is "preview only"
    # (releasedVersion 0.0); several public clients quote the 400 for `connectionData?api-version=7.1` verbatim. The
    # exact text is not in the facts, so this can be switched off.
    require_preview_flag: bool = True
    # docs/azure-devops-behaviours.md §3.4: the revoked-PAT message is not confirmed; this is the analogy with the
    # expired one.
    revoked_message: str = "Access Denied: The Personal Access Token used has been revoked."
    # PATCH/POST of work items with a plain application/json body gets 400 VssRequestContentTypeNotSupportedException
    # (docs/azure-devops-behaviours.md §5.1); switchable, the wording being not confirmed.
    require_json_patch_content_type: bool = True
    # docs/azure-devops-behaviours.md §1.1: what the service does with "Bearer <PAT>" is not confirmed; by default it is
    # an unknown token.
    accept_bearer_pat: bool = False
    # docs/azure-devops-behaviours.md §5.2: a PATCH that only adds relations came back with `rev` unchanged in the
    # recording.
    relation_only_patch_bumps_rev: bool = False
    # docs/azure-devops-behaviours.md §3.5 says 401 with an empty body for a missing scope; not confirmed that it never
    # has a body.
    scope_failure_body: bool = False
