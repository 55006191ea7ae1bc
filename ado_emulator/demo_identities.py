"""The demo's organization, project and people, with their fixed PATs: one source for the emulator and the app.

The emulator loads these people into its demo organization (with the work items of demo.json); the app's
`seed_demo` stores Bob's token and the service account's, so it works before the emulator runs. The tokens
are obviously fake strings, never secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

ORGANIZATION = "fabrikam"
ORGANIZATION_ID = "f4b1c0de-0000-4000-8000-00000000fab1"
PROJECT = "Fabrikam Fiber"
PROJECT_ID = "fabf1be2-0000-4000-8000-000000000001"
PROJECT_DESCRIPTION = "Customer portal and field operations for Fabrikam Fiber."

# Every scope the app asks for, so each demo token passes Test Connection.
ALL_SCOPES = "vso.memberentitlementmanagement vso.project_manage vso.tokenadministration vso.tokens vso.work_full"


@dataclass(frozen=True)
class DemoPerson:
    display_name: str
    email: str
    id: str
    token: str
    token_name: str = "almlink"  # noqa: S105 (the name shown for the token, not a secret)
    scopes: str = ALL_SCOPES
    valid_days: int = 365  # counted from the moment the emulator (re)loads its demo
    organization_admin: bool = False


SERVICE_ACCOUNT = DemoPerson(
    display_name="ALM Service Account",
    email="almlink-svc@fabrikam.example",
    id="5d1e9c0a-2b7f-4d3e-8a61-0c9b7e4f2a11",
    token="demo0svc0pat0not0a0real0secret0000000000000000000000",  # noqa: S106 (a fixed fake demo token)
    organization_admin=True,
)
ALICE = DemoPerson(
    display_name="Alice Example",
    email="alice@fabrikam.example",
    id="a11ce000-4c1d-4e2f-9a3b-5c6d7e8f9a01",
    token="demo0alice0pat0not0a0real0secret00000000000000000000",  # noqa: S106 (a fixed fake demo token)
    organization_admin=True,
)
BOB = DemoPerson(
    display_name="Bob Example",
    email="bob@fabrikam.example",
    id="b0b00000-7e2d-4f1a-8b3c-9d0e1f2a3b02",
    token="demo0bob0pat0not0a0real0secret0000000000000000000000",  # noqa: S106 (a fixed fake demo token)
    organization_admin=True,
)

PEOPLE: tuple[DemoPerson, ...] = (SERVICE_ACCOUNT, ALICE, BOB)
# The service account creates the demo's work items.
CREATOR = SERVICE_ACCOUNT
