"""Validating and normalizing the ALM connection URL (the organization or collection URL).

Accepted shapes (facts 1.2):
- Azure DevOps Services: https://dev.azure.com/{organization} and https://{organization}.visualstudio.com
- Azure DevOps Server:   https://host[:port]/[virtual directory/]{collection}, e.g. https://tfs.example/tfs/DefaultCollection

What people paste (a work item link, a trailing slash, a query string) is cut back to that shape.
http:// is refused unless it is an Azure DevOps Server and ALM_ALLOW_INSECURE_SERVER_URLS allows it,
or the host is loopback and loopback http is allowed (development and tests, for the emulator).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from alm.transport import AddressPolicy, addresses_within

SERVICES = "services"
SERVER = "server"

# Organization names: letters, digits and hyphens, not starting or ending with a hyphen, at most 50.
_ORGANIZATION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}
# Virtual directories Azure DevOps Server (TFS) is usually installed under.
_KNOWN_VIRTUAL_DIRS = {"tfs"}


def is_loopback(host: str) -> bool:
    """Whether a URL's host names this machine, in any spelling a resolver accepts.

    localhost and every name under .localhost (RFC 6761), a trailing dot, 127.1, 2130706433, 0x7f000001,
    0.0.0.0, and IPv6 forms that carry a loopback IPv4 address (::ffff:127.0.0.1, ::127.0.0.1,
    64:ff9b::7f00:1). Names that merely resolve to loopback (localtest.me) are caught when the call
    connects (alm/transport.py); this check is for the form, which never resolves names.
    """
    name = host.lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(name)
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return False
    return any(candidate.is_loopback or candidate.is_unspecified for candidate in addresses_within(address))


def address_policy(kind: str) -> AddressPolicy:
    """Where calls for a connection of this kind may connect (checked on every connection, alm/transport.py).

    Public addresses always; loopback with ALM_ALLOW_LOOPBACK_HTTP (development, the emulator); private
    ranges for Azure DevOps Server with ALM_ALLOW_PRIVATE_SERVER_ADDRESSES; never link-local, multicast
    or reserved ones. Azure DevOps Services lives on public addresses only.
    """
    return AddressPolicy(
        allow_loopback=settings.ALM_ALLOW_LOOPBACK_HTTP,
        allow_private=kind == SERVER and settings.ALM_ALLOW_PRIVATE_SERVER_ADDRESSES,
    )


def normalize_connection_url(
    url: str, *, kind: str, allow_insecure_server: bool = False, allow_loopback_http: bool = False
) -> str:
    """The canonical organization/collection URL, or ValidationError naming what is wrong with it."""
    text = (url or "").strip()
    if not text:
        raise ValidationError("Enter the organization or collection URL.", code="required")
    if any(char.isspace() for char in text):
        raise ValidationError("The URL contains spaces; paste it again without them.", code="spaces")
    if not text.isprintable():
        raise ValidationError("The URL contains invisible control characters; type it again.", code="control")
    if "://" not in text:
        text = f"https://{text}"
    try:
        parts = urlsplit(text)
    except ValueError:
        # urlsplit raises on an unbalanced "[" (a broken IPv6 address): a form error, not a 500.
        raise ValidationError("The URL's host is not a valid name or address.", code="host") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValidationError(
            "The URL must start with https:// (found “%(scheme)s://”).", code="scheme", params={"scheme": scheme}
        )
    if "@" in parts.netloc:
        # Never echo this part back: it may hold a token pasted by mistake.
        raise ValidationError(
            "Remove the user name and password from the URL; the token goes in the token field.", code="credentials"
        )
    try:
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise ValidationError("The URL's port is not a number between 1 and 65535.", code="port") from None
    if not host:
        raise ValidationError("The URL has no host name.", code="host")
    segments = [segment for segment in parts.path.split("/") if segment]
    loopback = is_loopback(host)
    if loopback and not allow_loopback_http:
        raise ValidationError(
            "Loopback addresses (%(host)s) are only allowed in development.", code="loopback", params={"host": host}
        )
    if host == "dev.azure.com" or host.endswith(".visualstudio.com") or host == "visualstudio.com":
        return _services_url(host, port, scheme, segments, kind)
    if kind == SERVICES and not loopback:
        raise ValidationError(
            "Azure DevOps Services URLs are https://dev.azure.com/{organization} or "
            "https://{organization}.visualstudio.com; for your own server choose the kind “Azure DevOps Server”.",
            code="not_services",
        )
    if scheme == "http" and not loopback and not (kind == SERVER and allow_insecure_server):
        raise ValidationError(
            "http:// sends the token unencrypted; use https:// (an administrator can allow http for "
            "Azure DevOps Server with ALM_ALLOW_INSECURE_SERVER_URLS).",
            code="insecure",
        )
    netloc = _netloc(host, port, scheme)
    if kind == SERVICES:
        # The emulator's organization URLs look like dev.azure.com's: one segment, the organization.
        if not segments or segments[0].startswith("_"):
            raise ValidationError("The URL has no organization name after the host.", code="organization")
        return f"{scheme}://{netloc}/{segments[0]}"
    return f"{scheme}://{netloc}/{'/'.join(_collection_path(segments))}"


def _services_url(host: str, port: int | None, scheme: str, segments: list[str], kind: str) -> str:
    if kind != SERVICES:
        raise ValidationError(
            "%(host)s is Azure DevOps Services; choose the kind “Azure DevOps Services”.",
            code="not_server",
            params={"host": host},
        )
    if scheme != "https":
        raise ValidationError("Azure DevOps Services is only reachable over https://.", code="insecure")
    if port not in (None, 443):
        raise ValidationError("Azure DevOps Services URLs have no port number.", code="port")
    if host == "dev.azure.com":
        if not segments or segments[0].startswith("_"):
            raise ValidationError(
                "Add the organization name: https://dev.azure.com/{organization}.", code="organization"
            )
        organization = segments[0]
        if not _ORGANIZATION.fullmatch(organization):
            # Not quoted back: the text may be something pasted by mistake (a token, say).
            raise ValidationError(
                "The part after https://dev.azure.com/ is not an organization name (letters, digits and hyphens "
                "only).",
                code="organization",
            )
        return f"https://dev.azure.com/{organization}"
    labels = host.split(".")
    if len(labels) != 3 or not _ORGANIZATION.fullmatch(labels[0]) or labels[0] in ("app", "www"):
        raise ValidationError(
            "Use https://{organization}.visualstudio.com with the organization as the first part of the host name.",
            code="organization",
        )
    return f"https://{host}"


def _collection_path(segments: list[str]) -> list[str]:
    # Anything from the first "_" segment on is a page or API path (_apis, _workitems, _git...), not the collection.
    cut = next((index for index, segment in enumerate(segments) if segment.startswith("_")), len(segments))
    path = segments[:cut]
    if not path:
        raise ValidationError(
            "Add the collection: https://server/tfs/DefaultCollection or https://server/DefaultCollection.",
            code="collection",
        )
    if path[0].lower() in _KNOWN_VIRTUAL_DIRS:
        if len(path) < 2:
            raise ValidationError(
                "Add the collection after the virtual directory, e.g. https://server/tfs/DefaultCollection.",
                code="collection",
            )
        # https://server/tfs/{collection}/{project}/...: keep the collection, drop the project.
        return path[:2]
    if len(path) > 2:
        raise ValidationError(
            "Expected https://server/[virtual directory/]collection; remove the project or page after the collection.",
            code="collection",
        )
    return path


def _netloc(host: str, port: int | None, scheme: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return shown if port in (None, default) else f"{shown}:{port}"
