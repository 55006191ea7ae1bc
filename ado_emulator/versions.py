"""api-version: where it is read from, and the checks the service applies (docs/azure-devops-behaviours.md §7)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ado_emulator.errors import ApiError

_VERSION = re.compile(r"^(\d+)\.(\d+)(-preview(?:\.(\d+))?)?$", re.IGNORECASE)


@dataclass(frozen=True)
class ApiVersion:
    text: str
    major: int
    minor: int
    preview: bool

    @property
    def number(self) -> tuple[int, int]:
        return (self.major, self.minor)


def parse_number(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return (int(major), int(minor or 0))


def requested_version(query_value: str | None, accept: str | None) -> str | None:
    """The api-version from the query string or the Accept header (clients use either,
    docs/azure-devops-behaviours.md §7).

    The query string wins when both are present (not confirmed; no source sends both).
    """
    if query_value:
        return query_value.strip()
    if not accept:
        return None
    # Accept: application/json;api-version=7.1-preview.1 (possibly several media ranges).
    for media_range in accept.split(","):
        for param in media_range.split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "api-version" and value.strip():
                return value.strip().strip('"')
    return None


def parse(text: str) -> ApiVersion:
    match = _VERSION.match(text)
    if not match:
        # The real wording for a malformed version is not confirmed.
        raise ApiError(
            400, f"The following api-version is not valid: {text}", "VssInvalidApiResourceVersionException"
        )
    return ApiVersion(text=text, major=int(match[1]), minor=int(match[2]), preview=match[3] is not None)


def check(
    text: str | None,
    *,
    method: str,
    deployment_max: str,
    released: str | None,
    allow_get_without: bool,
    require_preview_flag: bool,
) -> ApiVersion | None:
    """Validate the request's version for one resource; raise the service's 400s."""
    if text is None:
        if method in {"GET", "HEAD", "OPTIONS"} and allow_get_without:
            return None
        # Verbatim body for a POST without api-version (docs/azure-devops-behaviours.md §7); the method name is
        # substituted.
        raise ApiError(
            400,
            f'No api-version was supplied for the "{method}" request. The version must be supplied either as part '
            'of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter '
            '(e.g. "?api-version=1.0").',
            "VssVersionNotSpecifiedException",
        )
    version = parse(text)
    if version.number > parse_number(deployment_max):
        # Message from docs/azure-devops-behaviours.md §7 (on-prem 7.1 vs 7.0); the typeKey is not confirmed.
        raise ApiError(
            400,
            f"The requested REST API version of {version.major}.{version.minor} is out of range for this server. "
            f"The latest REST API version this server supports is {deployment_max}.",
            "VssVersionOutOfRangeException",
        )
    preview_needed = released is not None and not version.preview and version.number > parse_number(released)
    if require_preview_flag and preview_needed:
        example = f"{version.major}.{version.minor}-preview"
        raise ApiError(
            400,
            f'The requested version "{version.major}.{version.minor}" of the resource is under preview. '
            "The -preview flag must be supplied in the api-version for such requests. "
            f'For example: "{example}"',
            "VssInvalidPreviewVersionException",
        )
    return version
