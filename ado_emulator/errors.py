"""ADO error bodies (WrappedException) and the replies the emulator builds from them.

Shape (docs/azure-devops-behaviours.md §3.1):
{"$id":"1","innerException":null,"message":...,"typeName":...,"typeKey":...,"errorCode":0,"eventId":3000};
AccessCheckException also carries customProperties (docs/azure-devops-behaviours.md §3.3).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

JSON_TYPE = "application/json; charset=utf-8"

# typeName namespaces by typeKey. Those marked (facts) are verbatim from real bodies; the others follow
# the same pattern and are not confirmed.
_TYPE_NAMES: dict[str, str] = {
    "VssVersionNotSpecifiedException": (  # (docs/azure-devops-behaviours.md §7)
        "Microsoft.VisualStudio.Services.WebApi.VssVersionNotSpecifiedException, Microsoft.VisualStudio.Services.WebApi"
    ),
    "VssVersionOutOfRangeException": (
        "Microsoft.VisualStudio.Services.WebApi.VssVersionOutOfRangeException, Microsoft.VisualStudio.Services.WebApi"
    ),
    "VssInvalidPreviewVersionException": (
        "Microsoft.VisualStudio.Services.WebApi.VssInvalidPreviewVersionException, "
        "Microsoft.VisualStudio.Services.WebApi"
    ),
    "VssInvalidApiResourceVersionException": (  # (docs/azure-devops-behaviours.md §7)
        "Microsoft.VisualStudio.Services.WebApi.VssInvalidApiResourceVersionException, "
        "Microsoft.VisualStudio.Services.WebApi"
    ),
    "TestPatchOperationFailedException": (  # the JSON Patch classes of the WebApi assembly (§5.3)
        "Microsoft.VisualStudio.Services.WebApi.Patch.TestPatchOperationFailedException, "
        "Microsoft.VisualStudio.Services.WebApi"
    ),
    "PatchOperationFailedException": (
        "Microsoft.VisualStudio.Services.WebApi.Patch.PatchOperationFailedException, "
        "Microsoft.VisualStudio.Services.WebApi"
    ),
    "RequestBlockedException": (  # verbatim from public 429 bodies (docs/azure-devops-behaviours.md §6)
        "Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server"
    ),
    # .NET's own argument exceptions, thrown by the service's parameter checks (§3.1).
    "ArgumentException": "System.ArgumentException, mscorlib",
    "ArgumentNullException": "System.ArgumentNullException, mscorlib",
    "ArgumentOutOfRangeException": "System.ArgumentOutOfRangeException, mscorlib",
    "VssRequestContentTypeNotSupportedException": (
        "Microsoft.VisualStudio.Services.WebApi.VssRequestContentTypeNotSupportedException, "
        "Microsoft.VisualStudio.Services.WebApi"
    ),
    "VssServiceException": (  # (docs/azure-devops-behaviours.md §3.1, the 503 TF24668 body)
        "Microsoft.VisualStudio.Services.Common.VssServiceException, Microsoft.VisualStudio.Services.Common"
    ),
    "VssPropertyValidationException": (
        "Microsoft.VisualStudio.Services.Common.VssPropertyValidationException, Microsoft.VisualStudio.Services.Common"
    ),
    "AccessCheckException": (  # (docs/azure-devops-behaviours.md §3.3)
        "Microsoft.VisualStudio.Services.Security.AccessCheckException, Microsoft.VisualStudio.Services.WebApi"
    ),
    "UnauthorizedRequestException": (  # (docs/azure-devops-behaviours.md §3.2)
        "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, "
        "Microsoft.TeamFoundation.Framework.Server"
    ),
    "ProjectDoesNotExistWithNameException": (  # (docs/azure-devops-behaviours.md §3.1)
        "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException, "
        "Microsoft.TeamFoundation.Core.WebApi"
    ),
    "ProjectDoesNotExistException": (
        "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistException, Microsoft.TeamFoundation.Core.WebApi"
    ),
}


def _type_name(type_key: str) -> str:
    known = _TYPE_NAMES.get(type_key)
    if known:
        return known
    # Work item tracking exceptions live in the WIT server assembly; the namespace is not confirmed.
    return (
        f"Microsoft.TeamFoundation.WorkItemTracking.Server.{type_key}, Microsoft.TeamFoundation.WorkItemTracking.Server"
    )


def wrapped_exception(
    message: str,
    type_key: str,
    *,
    event_id: int = 3000,
    custom_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"$id": "1"}
    if custom_properties is not None:
        body["customProperties"] = custom_properties
    body.update(
        {
            "innerException": None,
            "message": message,
            "typeName": _type_name(type_key),
            "typeKey": type_key,
            "errorCode": 0,
            "eventId": event_id,
        }
    )
    return body


@dataclass
class Reply:
    """What the HTTP layer writes. `abort` and `declared_length` exist for the network faults."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    # Close the connection with a TCP reset and send nothing at all.
    abort: bool = False
    # Announce this Content-Length instead of len(body), then close (a truncated answer).
    declared_length: int | None = None


def json_reply(status: int, payload: Any, *, content_type: str = JSON_TYPE) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode(), content_type=content_type)


def service_error_header(message: str) -> tuple[str, str]:
    # X-TFS-ServiceError: the URL-encoded message, also on 401s (docs/azure-devops-behaviours.md §3.1, 3.3).
    return ("X-TFS-ServiceError", quote(message, safe=""))


class ApiError(Exception):
    """An ADO error answer: raised by handlers, turned into a WrappedException reply."""

    def __init__(
        self,
        status: int,
        message: str,
        type_key: str,
        *,
        event_id: int = 3000,
        custom_properties: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type_key = type_key
        self.event_id = event_id
        self.custom_properties = custom_properties

    def reply(self) -> Reply:
        body = wrapped_exception(
            self.message, self.type_key, event_id=self.event_id, custom_properties=self.custom_properties
        )
        reply = json_reply(self.status, body)
        reply.headers.append(service_error_header(self.message))
        return reply


def not_found_text(path: str) -> Reply:
    """404 for a route this host does not serve: text/plain, as in the real recording (docs/azure-devops-behaviours.md
    §3.1)."""
    message = f"The controller for path '{path}' was not found or does not implement IController."
    return Reply(
        status=404,
        body=message.encode(),
        content_type="text/plain; charset=utf-8",
        headers=[service_error_header(message)],
    )
