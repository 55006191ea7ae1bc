"""The Azure DevOps REST client: every call almlink makes to Azure DevOps goes through `AdoClient._request`.

One `requests.Session` per client, Basic auth with an empty user name and the PAT as password,
`X-TFS-FedAuthRedirect: Suppress` (so a bad token gives 401, not a 203 sign-in page; docs/azure-devops-behaviours.md
§3.7),
an api-version and a timeout on every call, redirects never followed (the token must not travel
to wherever a redirect points). Every outcome other than success becomes a specific
`alm.exceptions.AdoError`. No Django imports: this module runs anywhere.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests
import urllib3.exceptions

from alm import transport
from alm.exceptions import (
    AccessDenied,
    AdoError,
    Conflict,
    NotFound,
    OrganizationNotFound,
    PermissionMissing,
    RequestRejected,
    RequestTimedOut,
    ServiceFailing,
    Throttled,
    TokenExpired,
    TokenNotBound,
    TokenRejected,
    UnexpectedAnswer,
    Unreachable,
)
from alm.scopes import PROJECT_TEAM, REQUIRED_PERMISSIONS, TOKENS, WORK_ITEMS, Permission, parse_scopes
from alm.token_state import same_address
from alm.types import Identity, IdentityRef, Project, SessionToken, WorkItem

logger = logging.getLogger(__name__)

# Organizations with public projects answer a bad token as this anonymous user instead of
# refusing it (docs/azure-devops-behaviours.md §2.1: the Azure CLI rejects the same id).
ANONYMOUS_USER_ID = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
# The workitems list endpoint takes at most 200 ids (docs/azure-devops-behaviours.md §5.1).
BATCH_SIZE = 200
# The app asks users to name their token so; the Tokens list is matched on it (docs/azure-devops-behaviours.md §4.2).
PAT_NAME = "almlink"
# Azure DevOps Server 2022 stops at 7.0; 2022.1+ and Services take 7.1 (docs/azure-devops-behaviours.md §7).
API_VERSIONS = {"services": "7.1", "server": "7.0"}
RESOURCE_AREAS_TTL = 3600.0
MAX_BODY_BYTES = 32 * 1024 * 1024
BODY_CHUNK_BYTES = 8192
# Server text shown or logged is cut to this length, after the token is scrubbed from it.
MAX_SERVER_TEXT = 500
# A run of at least this many characters of a token (in any form) is treated as the token.
SECRET_PREFIX_CHARS = 8
MAX_PARALLEL_BATCHES = 5  # a 1,000-item page (5 batches of 200) in one round trip
MAX_PROJECT_PAGES = 50
# Hosts that serve one cloud organization under several service names (vssps., vsaex., ...).
CLOUD_HOST_FAMILIES = ("dev.azure.com", "visualstudio.com")


@dataclass(frozen=True)
class _Response:
    status: int
    headers: Mapping[str, str]
    data: Any


class NoProject(Exception):
    """A probe needs a project and the organization has none (or none is visible)."""


# --- Where the other services live (ResourceAreas), remembered per connection URL ---------------

_areas_lock = threading.Lock()
_areas: dict[str, tuple[float, dict[str, str]]] = {}
# One lock per connection URL so that simultaneous checks fetch ResourceAreas once; bounded, because
# URLs typed into the admin (or tried by tests) would otherwise accumulate for the life of the process.
_area_fetch_locks: OrderedDict[str, threading.Lock] = OrderedDict()
MAX_AREA_LOCKS = 256


def forget_resource_areas() -> None:
    """Drop the remembered service locations (after a connection's URL changes, and between tests)."""
    with _areas_lock:
        _areas.clear()


class _PatAuth(requests.auth.AuthBase):
    """Basic auth with an empty user name (docs/azure-devops-behaviours.md §1.1); built once, never shown."""

    def __init__(self, header: str) -> None:
        self._header = header

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._header
        return request

    def __repr__(self) -> str:
        return "_PatAuth(<redacted>)"


class AdoClient(transport.SessionOwner):
    """A client for one organization (Services) or collection (Server), acting with one token."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float,
        kind: str = "services",
        bound_to: str | None = None,
        max_retry_wait: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        bearer: bool = False,
        addresses: transport.AddressPolicy = transport.PUBLIC_ONLY,
        gate: AbstractContextManager[object] | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("The Azure DevOps URL must be an absolute http(s) URL.")
        if kind not in API_VERSIONS:
            raise ValueError(f"Unknown connection kind {kind!r}; expected one of {sorted(API_VERSIONS)}.")
        if bound_to is not None and not same_address(bound_to, url):
            # A saved token travels only to the address it was verified against (README "Security").
            raise TokenNotBound
        token = (token or "").strip()
        if not token or not token.isascii() or any(char.isspace() or not char.isprintable() for char in token):
            raise TokenRejected("malformed")
        self.url = url.rstrip("/")
        self.kind = kind
        self.timeout = timeout
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._clock = clock
        # Held around every call sent (not while waiting out a Retry-After): a caller that shares one
        # semaphore between clients bounds the calls in flight (profiles.lifecycle).
        self._gate: AbstractContextManager[object] = gate if gate is not None else nullcontext()
        self.clock = clock  # for callers that time a sequence of calls (alm.check)
        self._api_version = API_VERSIONS[kind]
        encoded = base64.b64encode(f":{token}".encode("ascii")).decode("ascii")
        # Every form in which the token could travel; server text is scrubbed of all of them.
        self._secrets = _secret_forms(token)
        self._session = requests.Session()
        # An Entra ID access token travels as `Bearer` (docs/azure-devops-behaviours.md §9); a PAT as Basic with an
        # empty user name.
        self._session.auth = _PatAuth(f"Bearer {token}" if bearer else f"Basic {encoded}")
        self._session.headers.update(
            {"Accept": "application/json", "X-TFS-FedAuthRedirect": "Suppress", "User-Agent": "almlink"}
        )
        # Probes and batches run in parallel threads: one pooled connection each. The adapter connects only
        # to addresses the policy allows, and keeps each call within its deadline (alm/transport.py).
        adapter = transport.GuardedAdapter(
            policy=addresses, pool_connections=4, pool_maxsize=len(REQUIRED_PERMISSIONS) + 2
        )
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._identity: Identity | None = None
        self._areas_failure: AdoError | None = None
        self.last_activity_id: str | None = None

    def __repr__(self) -> str:
        return f"AdoClient(url={self.url!r}, kind={self.kind!r}, token=<redacted>)"

    # --- Who am I ------------------------------------------------------------------------------

    def connection_data(self) -> Identity:
        """The token's user; refuses the anonymous user.

        connectionData works with any scope (docs/azure-devops-behaviours.md §2.1).
        """
        try:
            response = self._request("GET", f"{self.url}/_apis/connectionData", api_version=self._preview())
        except NotFound as error:
            # Every organization and collection answers connectionData, so a 404 here means none lives at
            # this URL. What Azure DevOps sends for an unknown organization is not in the facts (the emulator
            # answers a text/plain "controller for path" 404); the status alone decides.
            raise OrganizationNotFound(self.url, kind=self.kind, activity_id=error.activity_id) from error
        user = response.data.get("authenticatedUser") if isinstance(response.data, dict) else None
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            raise UnexpectedAnswer("connectionData has no authenticated user")
        if user["id"].lower() == ANONYMOUS_USER_ID:
            raise TokenRejected("anonymous", url=self.url)
        account = _object(_object(user.get("properties")).get("Account"))
        identity = Identity(
            id=user["id"],
            display_name=str(user.get("customDisplayName") or user.get("providerDisplayName") or ""),
            email=_text_or_none(account.get("$value")),
            descriptor=_text_or_none(user.get("descriptor")),
            subject_descriptor=_text_or_none(user.get("subjectDescriptor")),
        )
        self._identity = identity
        return identity

    # --- The permission probes of a token check (alm.check interprets them) -----------------------

    def probe(self, permission: Permission, *, project: str | None) -> tuple[int, tuple[SessionToken, ...] | None]:
        """Send the permission's harmless probe; its status (401 = scope missing), and the token list for Tokens.

        Raises NotFound when the area or project does not exist, AdoError for other failures.
        """
        probe = permission.probe
        path = probe.path
        if probe.needs_project:
            project = project or self.first_project_name()
            if not project:
                raise NoProject
            path = path.format(project=_segment(project))
        response = self._request(
            probe.method,
            f"{self._area_base(probe.area)}/{path}",
            api_version=probe.api_version or self._api_version,
            params=probe.params,
            body=probe.body,
            content_type=probe.content_type,
            accept=frozenset({401}) | probe.present_statuses,
            what=f"The project “{project}”" if probe.needs_project else "The service",
            retry=True,  # probes change nothing, so a throttled one may be repeated
        )
        tokens = _session_tokens(response.data) if permission is TOKENS and response.status == 200 else None
        return response.status, tokens

    def first_project_name(self) -> str | None:
        response = self._request(
            "GET", f"{self.url}/_apis/projects", params=(("$top", "1"),), permission=PROJECT_TEAM, retry=True
        )
        projects = _value_list(response.data, "projects")
        return str(projects[0].get("name")) if projects and isinstance(projects[0], dict) else None

    # --- Projects and work items ---------------------------------------------------------------

    def list_projects(self) -> list[Project]:
        """Every well-formed project the token's user can see, following continuation tokens."""
        projects: list[Project] = []
        continuation: str | None = None
        for _page in range(MAX_PROJECT_PAGES):
            # No $top: Azure DevOps pages with x-ms-continuationtoken (docs/azure-devops-behaviours.md §2.3).
            params: list[tuple[str, str]] = [("stateFilter", "wellFormed")]
            if continuation:
                params.append(("continuationToken", continuation))
            response = self._request("GET", f"{self.url}/_apis/projects", params=params, permission=PROJECT_TEAM)
            for item in _value_list(response.data, "projects"):
                if not isinstance(item, dict) or not item.get("name"):
                    raise UnexpectedAnswer("a project without a name")
                projects.append(
                    Project(id=str(item.get("id", "")), name=str(item["name"]), state=str(item.get("state", "")))
                )
            continuation = response.headers.get("x-ms-continuationtoken")
            if not continuation:
                break
        return projects

    def query_work_item_ids(self, *, project: str, wiql: str, top: int | None = None) -> list[int]:
        """Run a WIQL query in a project; the ids it returns, in its order."""
        params = (("$top", str(top)),) if top is not None else ()
        response = self._request(
            "POST",
            f"{self.url}/{_segment(project)}/_apis/wit/wiql",
            params=params,
            body={"query": wiql},
            permission=WORK_ITEMS,
            what=f"The project “{project}”",
            retry=True,  # a query changes nothing
        )
        data = response.data if isinstance(response.data, dict) else {}
        if isinstance(data.get("workItems"), list):
            refs: Iterable[Any] = data["workItems"]
        elif isinstance(data.get("workItemRelations"), list):
            refs = (relation.get("target") for relation in data["workItemRelations"] if isinstance(relation, dict))
        else:
            raise UnexpectedAnswer("the query result lists no work items")
        ids = [ref["id"] for ref in refs if isinstance(ref, dict) and isinstance(ref.get("id"), int)]
        return list(dict.fromkeys(ids))

    def get_work_items(
        self, ids: Iterable[int], *, project: str | None = None, fields: Sequence[str] | None = None
    ) -> list[WorkItem]:
        """Work items by id in the order asked, 200 per request (chunks run in parallel); missing ids are left out."""
        unique = list(dict.fromkeys(int(item_id) for item_id in ids))
        chunks = [unique[start : start + BATCH_SIZE] for start in range(0, len(unique), BATCH_SIZE)]
        if len(chunks) <= 1:
            batches = [self._get_batch(chunk, project, fields) for chunk in chunks]
        else:
            with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_BATCHES, len(chunks))) as pool:
                batches = list(pool.map(lambda chunk: self._get_batch(chunk, project, fields), chunks))
        return [item for batch in batches for item in batch]

    def _get_batch(self, ids: list[int], project: str | None, fields: Sequence[str] | None) -> list[WorkItem]:
        params = [("ids", ",".join(map(str, ids))), ("errorPolicy", "Omit")]
        if fields:
            params.append(("fields", ",".join(fields)))
        response = self._request(
            "GET", f"{self._wit_base(project)}/_apis/wit/workitems", params=params, permission=WORK_ITEMS
        )
        return [_work_item(item) for item in _value_list(response.data, "work items") if item is not None]

    def get_work_item(self, work_item_id: int, *, project: str | None = None) -> WorkItem:
        response = self._request(
            "GET",
            f"{self._wit_base(project)}/_apis/wit/workitems/{int(work_item_id)}",
            permission=WORK_ITEMS,
            what=f"Work item {work_item_id}",
        )
        return _work_item(response.data)

    def update_work_item(
        self, work_item_id: int, *, rev: int, fields: Mapping[str, object], project: str | None = None
    ) -> WorkItem:
        """Set fields, only if the item is still at `rev` (JSON Patch test /rev first; 412 → Conflict)."""
        patch: list[dict[str, object]] = [{"op": "test", "path": "/rev", "value": int(rev)}]
        patch.extend({"op": "add", "path": f"/fields/{name}", "value": value} for name, value in fields.items())
        response = self._request(
            "PATCH",
            f"{self._wit_base(project)}/_apis/wit/workitems/{int(work_item_id)}",
            body=patch,
            content_type="application/json-patch+json",
            permission=WORK_ITEMS,
            what=f"Work item {work_item_id}",
        )
        return _work_item(response.data)

    def delete_work_item(self, work_item_id: int, *, project: str | None = None) -> IdentityRef | None:
        """Move a work item to the Recycle Bin, and say who Azure DevOps recorded as deleting it.

        No `destroy`: it stays restorable (docs/azure-devops-behaviours.md §5.1).

        Azure DevOps answers WorkItemDelete, whose `deletedBy` names the identity it recorded.
        """
        response = self._request(
            "DELETE",
            f"{self._wit_base(project)}/_apis/wit/workitems/{int(work_item_id)}",
            permission=WORK_ITEMS,
            what=f"Work item {work_item_id}",
        )
        data = response.data if isinstance(response.data, dict) else {}
        return _identity_ref(data.get("deletedBy"))

    def get_work_item_type_states(self, *, project: str, type_name: str) -> tuple[str, ...]:
        """The states of a work item type in a project's process (docs/azure-devops-behaviours.md §5.5)."""
        response = self._request(
            "GET",
            f"{self.url}/{_segment(project)}/_apis/wit/workitemtypes/{_segment(type_name)}/states",
            permission=WORK_ITEMS,
            what=f"The work item type “{type_name}”",
            retry=True,  # a read
        )
        states = _value_list(response.data, "states")
        return tuple(str(state["name"]) for state in states if isinstance(state, dict) and state.get("name"))

    def _wit_base(self, project: str | None) -> str:
        return f"{self.url}/{_segment(project)}" if project else self.url

    # --- Service locations ---------------------------------------------------------------------

    def _area_base(self, area: str) -> str:
        if area == "core":
            return self.url
        return self._resource_areas().get(area.lower(), self.url)

    def _resource_areas(self) -> dict[str, str]:
        """Service locations by lower-cased area name, fetched once per connection URL (thread-safe)."""
        with _areas_lock:
            cached = _areas.get(self.url)
            if cached and cached[0] > self._clock():
                return cached[1]
            fetch_lock = _area_fetch_locks.setdefault(self.url, threading.Lock())
            _area_fetch_locks.move_to_end(self.url)
            while len(_area_fetch_locks) > MAX_AREA_LOCKS:
                _area_fetch_locks.popitem(last=False)
        with fetch_lock:
            with _areas_lock:
                cached = _areas.get(self.url)
                if cached and cached[0] > self._clock():
                    return cached[1]
            if self._areas_failure is not None:
                # The probes of one check wait here in turn: asking again after a timeout would add a
                # timeout per probe to the page, so they all share the first attempt's failure.
                raise self._areas_failure
            try:
                response = self._request(
                    "GET", f"{self.url}/_apis/ResourceAreas", api_version=self._preview(), retry=True
                )
            except AdoError as error:
                self._areas_failure = error
                raise
            areas: dict[str, str] = {}
            # Azure DevOps Server answers an empty list: everything lives at the collection URL
            # (docs/azure-devops-behaviours.md §1.2).
            for entry in _value_list(response.data, "resource areas"):
                if not isinstance(entry, dict):
                    continue
                name, location = entry.get("name"), entry.get("locationUrl")
                if isinstance(name, str) and isinstance(location, str):
                    if is_trusted_location(self.url, location):
                        areas[name.lower()] = location.rstrip("/")
                    else:
                        logger.warning(
                            "Ignoring service location for %s outside %s: %s",
                            self._scrub(name)[:100],
                            self.url,
                            self._scrub(location)[:300],
                        )
            with _areas_lock:
                _areas[self.url] = (self._clock() + RESOURCE_AREAS_TTL, areas)
            return areas

    def _preview(self) -> str:
        # connectionData and ResourceAreas are preview-only resources (releasedVersion 0.0,
        # docs/azure-devops-behaviours.md §2.1).
        return f"{self._api_version}-preview.1"

    # --- The one choke point -------------------------------------------------------------------

    def _request(
        self,
        method: str,
        url: str,
        *,
        api_version: str | None = None,
        params: Iterable[tuple[str, str]] = (),
        body: object = None,
        content_type: str = "application/json",
        permission: Permission | None = None,
        what: str = "The requested resource",
        accept: frozenset[int] = frozenset(),
        retry: bool | None = None,
    ) -> _Response:
        """Send one call and map its outcome: data for success (or a status in `accept`), an AdoError otherwise.

        `permission` is what the call needs: a 401 then means "permission missing" if the token
        itself still authenticates. Reads (and `retry=True`) wait once on a short 429.
        """
        may_retry = method in ("GET", "HEAD") if retry is None else retry
        query = [*params, ("api-version", api_version or self._api_version)]
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        started = self._clock()
        with self._gate:
            response = self._send(method, url, query, payload, content_type, budget=self.timeout)
        if response.status == 429 and may_retry:
            wait = _retry_after(response.headers)
            # The call, retry included, ends within ALM_HTTP_TIMEOUT: only a wait that leaves time for the
            # second attempt is worth it, and that attempt gets only the time left.
            left = self.timeout - (self._clock() - started)
            if wait is not None and wait <= self.max_retry_wait and wait < left:
                logger.info("Azure DevOps throttled %s %s; retrying once in %.1f s", method, _path_of(url), wait)
                self._sleep(wait)
                left = self.timeout - (self._clock() - started)
                if left > 0:
                    with self._gate:
                        response = self._send(method, url, query, payload, content_type, budget=left)
        return self._interpret(response, method=method, permission=permission, what=what, accept=accept)

    def _send(
        self,
        method: str,
        url: str,
        query: list[tuple[str, str]],
        payload: bytes | None,
        content_type: str,
        *,
        budget: float,
    ) -> _RawResponse:
        where = _origin(url)
        started = self._clock()
        # The read timeout bounds each silence; the deadline bounds the whole call (connect, TLS handshake,
        # headers, body), however slowly the server trickles bytes: every socket operation of this thread
        # gets at most the time left (alm/transport.py), and the body is read in small chunks.
        deadline = started + budget
        headers = {"Content-Type": f"{content_type}; charset=utf-8"} if payload is not None else {}
        try:
            with transport.deadline(time.monotonic() + budget):
                reply = self._session.request(
                    method,
                    url,
                    params=query,
                    data=payload,
                    headers=headers,
                    timeout=(self.timeout, self.timeout),
                    allow_redirects=False,
                    stream=True,
                )
                with reply:
                    content = self._read_body(reply, deadline=deadline, where=where)
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as error:
            raise RequestTimedOut(self.timeout, url=where) from error
        except requests.exceptions.SSLError as error:
            if _caused_by(error, TimeoutError, urllib3.exceptions.ReadTimeoutError):
                raise RequestTimedOut(self.timeout, url=where) from error
            raise Unreachable("tls", url=where) from error
        except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as error:
            raise UnexpectedAnswer("the answer was cut off or garbled in transit") from error
        except requests.exceptions.ConnectionError as error:
            if _caused_by(error, urllib3.exceptions.ReadTimeoutError, TimeoutError):
                raise RequestTimedOut(self.timeout, url=where) from error
            if _caused_by(error, urllib3.exceptions.IncompleteRead):
                raise UnexpectedAnswer("the answer was cut off in transit") from error
            raise Unreachable(_connection_failure(error), url=where) from error
        except requests.exceptions.RequestException as error:
            raise Unreachable("network", url=where) from error
        # A GUID from Azure DevOps, shown for support tickets and logged: server text, so scrubbed and capped.
        scrubbed = self._scrub(reply.headers.get("ActivityId") or reply.headers.get("X-VSS-E2EID") or "")[:64]
        activity_id = scrubbed or None
        if activity_id:
            self.last_activity_id = activity_id
        logger.debug(
            "%s %s -> %s in %d ms (activity %s)",
            method,
            _path_of(url),
            reply.status_code,
            (self._clock() - started) * 1000,
            activity_id or "-",
        )
        if reply.status_code < 400 and (
            reply.headers.get("X-RateLimit-Resource") or reply.headers.get("X-RateLimit-Delay")
        ):
            # Flag/tarpit states come on a 200 (docs/azure-devops-behaviours.md §6): nothing to raise, but worth
            # knowing.
            logger.warning(
                "Azure DevOps rate limit warning for %s (resource %s, delay %s s)",
                where,
                self._scrub(reply.headers.get("X-RateLimit-Resource", "?"))[:100],
                self._scrub(reply.headers.get("X-RateLimit-Delay", "0"))[:20],
            )
        return _RawResponse(reply.status_code, reply.headers, content, activity_id)

    def _read_body(self, reply: requests.Response, *, deadline: float, where: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        # Small chunks, the deadline checked after each: a chunk never waits for more than what arrived
        # within the time left (the socket itself is bounded by the same deadline).
        for chunk in reply.iter_content(chunk_size=BODY_CHUNK_BYTES):
            if self._clock() > deadline:
                raise RequestTimedOut(self.timeout, url=where)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise UnexpectedAnswer(f"the answer is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB")
            chunks.append(chunk)
        return b"".join(chunks)

    def _interpret(
        self, raw: _RawResponse, *, method: str, permission: Permission | None, what: str, accept: frozenset[int]
    ) -> _Response:
        status, headers, activity = raw.status, raw.headers, raw.activity_id
        if status == 203:
            # Without a usable credential Azure DevOps serves its sign-in page with 203
            # (docs/azure-devops-behaviours.md §3.2).
            raise TokenRejected("sign_in_page", url=self.url, activity_id=activity)
        if 300 <= status < 400:
            target = headers.get("Location", "")
            if re.search(r"sign-?in|login|_signedin|oauth", target, re.IGNORECASE):
                raise TokenRejected("sign_in_page", url=self.url, activity_id=activity)
            raise UnexpectedAnswer(
                f"a redirect (HTTP {status}) to {self._scrub(_origin(target)) or 'elsewhere'}; "
                "check the connection URL (https?)",
                activity_id=activity,
            )
        message = self._error_message(raw) if status >= 400 else ""
        if status == 401:
            lowered = message.lower()
            if "expired" in lowered:
                raise TokenExpired(activity_id=activity)
            if "revoked" in lowered:
                raise TokenRejected("revoked", url=self.url, activity_id=activity)
        if status in accept or 200 <= status < 300:
            return _Response(status, headers, self._json(raw) if 200 <= status < 300 else None)
        if status == 401:
            if permission is not None and self._token_authenticates():
                raise PermissionMissing(permission, activity_id=activity)
            raise TokenRejected("unknown", url=self.url, activity_id=activity)
        # 412 for a failed `test /rev`, 409 WorkItemRevisionMismatchException (TF26071): both a conflict.
        if "VS403351" in message or status in {409, 412}:
            raise Conflict(_current_rev(message), activity_id=activity)
        if status == 403:
            raise AccessDenied(message or "access denied.", activity_id=activity)
        if status == 404:
            raise NotFound(what, message, activity_id=activity)
        if status == 429:
            raise Throttled(_retry_after(headers), activity_id=activity)
        if 400 <= status < 500:
            raise RequestRejected(message or f"HTTP {status} for {method}", activity_id=activity)
        if status >= 500:
            raise ServiceFailing(status, message, activity_id=activity)
        raise UnexpectedAnswer(f"HTTP {status}", activity_id=activity)

    def _token_authenticates(self) -> bool:
        """After a 401 on a call needing a permission: is the token itself fine (so the scope is missing)?"""
        if self._identity is not None:
            return True
        self.connection_data()  # raises the token's own problem
        return True

    def _json(self, raw: _RawResponse) -> Any:
        if not raw.content.strip():
            return None
        content_type = raw.headers.get("Content-Type", "").lower()
        if "html" in content_type or raw.content.lstrip()[:1] == b"<":
            # A 200 HTML page is a sign-in or proxy page, never Azure DevOps data.
            raise TokenRejected("sign_in_page", url=self.url, activity_id=raw.activity_id)
        try:
            return json.loads(raw.content.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as error:
            raise UnexpectedAnswer("the answer is not valid JSON", activity_id=raw.activity_id) from error
        except RecursionError as error:  # [[[[...]]]] nested deeper than the parser's stack
            raise UnexpectedAnswer("the answer is nested too deeply", activity_id=raw.activity_id) from error

    def _error_message(self, raw: _RawResponse) -> str:
        """The server's own words: WrappedException.message, a text/plain body, or X-TFS-ServiceError.

        See docs/azure-devops-behaviours.md §3.1.
        """
        text = ""
        try:
            decoded = raw.content.decode("utf-8-sig").strip()
        except UnicodeDecodeError:
            decoded = ""
        if decoded.startswith("{"):
            try:
                data = json.loads(decoded)
            except (ValueError, RecursionError):
                data = None
            if isinstance(data, dict) and isinstance(data.get("message"), str):
                text = data["message"]
        elif decoded and "text/plain" in raw.headers.get("Content-Type", "").lower():
            text = decoded
        if not text:
            text = unquote(raw.headers.get("X-TFS-ServiceError", ""))
        # Scrubbed before it is cut: cutting first could leave a token's head that no longer matches.
        return self._scrub(" ".join(text.split()))[:MAX_SERVER_TEXT]

    def _scrub(self, text: str) -> str:
        """`text` without the token: every form of it, and every run of 8+ of its first characters."""
        return _scrub(text, self._secrets)


# --- Helpers (pure) ---------------------------------------------------------------------------


def is_trusted_location(connection_url: str, location: str) -> bool:
    """Whether the token may be sent to a ResourceAreas location: the connection's own host, or a
    sibling service host of the same cloud (vssps.dev.azure.com for dev.azure.com), same scheme."""
    here, there = urlsplit(connection_url), urlsplit(location)
    try:
        here_port, there_port = here.port, there.port
    except ValueError:
        return False
    if there.scheme != here.scheme or not there.hostname or not here.hostname:
        return False
    if there.netloc.lower() == here.netloc.lower():
        return True
    if there_port is not None or here_port is not None:
        return False
    return any(_within(here.hostname, family) and _within(there.hostname, family) for family in CLOUD_HOST_FAMILIES)


@dataclass(frozen=True)
class _RawResponse:
    status: int
    headers: Mapping[str, str]
    content: bytes
    activity_id: str | None


def _session_tokens(data: Any) -> tuple[SessionToken, ...]:
    # The envelope differs with the query parameters: "value", "sessionTokens" or a bare list
    # (docs/azure-devops-behaviours.md §4.2).
    items = data.get("value", data.get("sessionTokens")) if isinstance(data, dict) else data
    if not isinstance(items, list):
        return ()
    tokens = []
    for item in items:
        if not isinstance(item, dict) or item.get("isValid") is False:
            continue
        tokens.append(
            SessionToken(
                display_name=str(item.get("displayName") or ""),
                valid_to=_parse_datetime(item.get("validTo")),
                scopes=parse_scopes(item.get("scope") if isinstance(item.get("scope"), str) else None),
            )
        )
    return tuple(tokens)


def _work_item(item: Any) -> WorkItem:
    if not isinstance(item, dict) or not isinstance(item.get("id"), int):
        raise UnexpectedAnswer("a work item without an id")
    fields = _object(item.get("fields"))
    assigned = _identity_ref(fields.get("System.AssignedTo"))
    rev = item.get("rev", fields.get("System.Rev"))
    return WorkItem(
        id=item["id"],
        rev=rev if isinstance(rev, int) else 0,
        type=str(fields.get("System.WorkItemType", "")),
        title=str(fields.get("System.Title", "")),
        state=str(fields.get("System.State", "")),
        assigned_to=assigned.display_name if assigned else None,
        changed_by=_identity_ref(fields.get("System.ChangedBy")),
        changed_date=_parse_datetime(fields.get("System.ChangedDate")),
        fields=MappingProxyType(dict(fields)),
    )


def _identity_ref(value: Any) -> IdentityRef | None:
    # Identity fields are IdentityRef objects (docs/azure-devops-behaviours.md §5.2); old payloads use "Name <email>"
    # strings.
    if isinstance(value, dict):
        return IdentityRef(
            id=_text_or_none(value.get("id")),
            display_name=str(value.get("displayName") or ""),
            unique_name=_text_or_none(value.get("uniqueName")),
        )
    if isinstance(value, str) and value:
        match = re.fullmatch(r"\s*(.*?)\s*<([^>]*)>\s*", value)
        if match:
            return IdentityRef(id=None, display_name=match.group(1), unique_name=match.group(2))
        return IdentityRef(id=None, display_name=value, unique_name=None)
    return None


def _value_list(data: Any, what: str) -> list[Any]:
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        return list(data["value"])
    raise UnexpectedAnswer(f"the list of {what} is missing")


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    # Azure DevOps writes UTC; some payloads omit the zone (docs/azure-devops-behaviours.md §4.2 example).
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(tz=UTC)).total_seconds())


def _current_rev(message: str) -> int | None:
    # "VS403351: Test Operation for path /rev failed, value 68 was not equal to test value 67."
    # (docs/azure-devops-behaviours.md §5.3)
    match = re.search(r"value\s+(\d+)\s+(?:was\s+)?not\s+equal", message)
    return int(match.group(1)) if match else None


def _secret_forms(token: str) -> tuple[str, ...]:
    """Every form in which a token can travel or be echoed: as is, percent-encoded, and base64 of it and of
    ":token" (the Basic header), standard and URL-safe (a form without padding is a prefix of these)."""
    forms = {token, quote(token, safe="")}
    for value in (token, f":{token}"):
        raw = value.encode("ascii")
        forms.add(base64.b64encode(raw).decode("ascii"))
        forms.add(base64.urlsafe_b64encode(raw).decode("ascii"))
    return tuple(sorted(forms, key=len, reverse=True))


def _scrub(text: str, secrets: Sequence[str]) -> str:
    """Replace each form of the secret, and each run of 8+ characters that starts one, with <redacted>.

    A server (or a proxy) may echo a token cut short; its first 8 characters are already too much.
    Hand-written: str.replace only finds the whole token.
    """
    for secret in secrets:
        head = secret[:SECRET_PREFIX_CHARS]
        if len(head) < SECRET_PREFIX_CHARS:
            text = text.replace(secret, "<redacted>")
            continue
        start = text.find(head)
        while start != -1:
            end = start + len(head)
            while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
                end += 1
            text = text[:start] + "<redacted>" + text[end:]
            start = text.find(head, start + len("<redacted>"))
    return text


def _connection_failure(error: BaseException) -> str:
    if _caused_by(error, transport.AddressNotAllowed):
        return "address"
    if _caused_by(error, urllib3.exceptions.NameResolutionError) or _message_chain_has(
        error, "Name or service not known", "nodename nor servname", "getaddrinfo failed", "Temporary failure in name"
    ):
        return "dns"
    if _caused_by(error, ConnectionRefusedError) or _message_chain_has(error, "Connection refused"):
        return "refused"
    if _caused_by(error, urllib3.exceptions.SSLError):
        return "tls"
    if _caused_by(error, ConnectionResetError, ConnectionAbortedError, urllib3.exceptions.ProtocolError):
        return "connection_lost"
    return "network"


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend([current.__cause__, current.__context__])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)


def _caused_by(error: BaseException, *kinds: type[BaseException]) -> bool:
    return any(isinstance(link, kinds) for link in _chain(error))


def _message_chain_has(error: BaseException, *needles: str) -> bool:
    return any(needle in str(link) for link in _chain(error) for needle in needles)


def _segment(name: str) -> str:
    # Project names contain spaces ("Fabrikam Fiber"): one path segment, fully quoted.
    return quote(name, safe="")


def _within(host: str, family: str) -> bool:
    host = host.lower()
    return host == family or host.endswith(f".{family}")


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: what messages and logs name (never a path's user data or a query)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    return f"{parts.scheme}://{parts.hostname}{f':{port}' if port else ''}" if parts.hostname else ""


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{_origin(url)}{parts.path}"


def _object(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else (absent, null, a list...)."""
    return value if isinstance(value, dict) else {}


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
