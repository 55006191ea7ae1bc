"""What the app does with an ALM connection: `client_for`, `check_token`, `check_connection`, `record_test_outcome`."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from alm import check, entra_services
from alm.check import TokenReport
from alm.client import AdoClient
from alm.connection_urls import address_policy
from alm.exceptions import TRANSIENT_ERRORS, AlmlinkError, TokenExpired, TokenUnreadable
from alm.fields import is_unreadable
from alm.models import AlmConnection


@sensitive_variables("token", "secret")
def client_for(
    *,
    connection: AlmConnection,
    token: str | None = None,
    bound_to: str | None = None,
    bearer: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    gate: AbstractContextManager[object] | None = None,
) -> AdoClient:
    """A client for the connection acting with `token`, or with the service account's token when None.

    A saved token is only sent to the address it was verified against (`bound_to`; for the service
    token, the URL it was entered with): the client refuses any other with TokenNotBound.
    """
    if token is None and connection.acts_as_service_principal:
        return entra_services.service_principal_client(connection=connection)  # Sign in with Microsoft
    secret = connection.service_token if token is None else token
    if token is None:
        bound_to = connection.service_token_origin or connection.url
    if is_unreadable(secret) or not isinstance(secret, str):
        raise TokenUnreadable("The saved service account token" if token is None else "The saved token")
    return AdoClient(
        connection.url,
        secret,
        timeout=settings.ALM_HTTP_TIMEOUT,
        kind=connection.kind,
        bound_to=bound_to,
        addresses=address_policy(connection.kind),
        bearer=bearer,
        sleep=sleep,
        gate=gate,
    )


@sensitive_variables("token")
def check_token(
    *,
    connection: AlmConnection,
    token: str | None,
    bound_to: str | None = None,
    gate: AbstractContextManager[object] | None = None,
) -> TokenReport:
    """Who `token` belongs to on this connection, its five permissions and expiry (None: the service account's).

    `gate` is held around each call sent (AdoClient): a semaphore shared by many checks bounds the calls
    in flight, and a call waiting out a Retry-After holds none of it."""
    with client_for(connection=connection, token=token, bound_to=bound_to, gate=gate) as client:
        return check.check_token(client, project=connection.default_project or None)


def check_connection(*, connection: AlmConnection) -> TokenReport:
    """Test the service account's token and store the outcome on the connection; raises AdoError on failure."""
    try:
        report = check_token(connection=connection, token=None)
    except TokenExpired as error:
        # An expired token cannot read its own expiry; the last successful test may have recorded it.
        known = connection.last_test_expires_on
        dated = TokenExpired(known, activity_id=error.activity_id) if known and not error.expired_on else error
        record_test_outcome(connection=connection, report=None, error=dated)
        raise dated from error
    except TRANSIENT_ERRORS:
        # Azure DevOps could not be asked: what the last real test learned stays as it was.
        raise
    except AlmlinkError as error:
        record_test_outcome(connection=connection, report=None, error=error)
        raise
    record_test_outcome(connection=connection, report=report)
    return report


def record_test_outcome(
    *, connection: AlmConnection, report: TokenReport | None, error: AlmlinkError | None = None, save: bool = True
) -> None:
    """Copy a test's outcome (a report or the error) onto the connection's last-test fields."""
    connection.last_tested_at = timezone.now()
    connection.last_test_ok = bool(report and report.ok)
    connection.last_test_error = error.message if error else ""
    if report is None:
        connection.last_test_identity_name = ""
        connection.last_test_identity_email = ""
        connection.last_test_permissions = []
        connection.last_test_expires_on = error.expired_on if isinstance(error, TokenExpired) else None
        connection.last_test_details = {"error_code": error.code if error else ""}
    else:
        connection.last_test_identity_name = report.identity.display_name
        connection.last_test_identity_email = report.identity.email or ""
        connection.last_test_permissions = list(report.granted_keys)
        connection.last_test_expires_on = report.expires_on
        connection.last_test_details = report_details(report)
    if save and connection.pk:
        connection.save(
            update_fields=[
                "last_tested_at",
                "last_test_ok",
                "last_test_error",
                "last_test_identity_name",
                "last_test_identity_email",
                "last_test_permissions",
                "last_test_expires_on",
                "last_test_details",
                "updated_at",
            ]
        )


def report_details(report: TokenReport) -> dict[str, Any]:
    """A token report as plain JSON data (for storage and templates)."""
    return {
        "identity": {"id": report.identity.id, "name": report.identity.display_name, "email": report.identity.email},
        "permissions": [
            {
                "key": result.permission.key,
                "label": result.permission.label,
                "ado_name": result.permission.ado_name,
                "access": result.permission.access,
                "granted": result.granted,
                "detail": result.detail,
            }
            for result in report.permissions
        ],
        "expires_on": report.expires_on.isoformat() if report.expires_on else None,
        "expiry_note": report.expiry_note,
        "token_name": report.token_name,
        "elapsed_ms": report.elapsed_ms,
    }
