"""Injected failures: slow, hung, throttled, broken and garbled answers, for the client's error paths.

A fault matches API requests (never /_emulator/) by a regex searched in the percent-decoded path,
case-insensitively (ADO paths are), and optionally by method. `count` limits it to the next N matching
requests; None keeps it until cleared. Several faults can match one request: every matching
"latency"/"hang"/"flag" applies, then the first matching fault that replaces the answer. A fault with
the parameter `every=N` applies to one matching request in N (the Nth, the 2Nth...), for steady rates
such as "2% of calls throttled".
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ado_emulator.auth import sign_in_page
from ado_emulator.errors import JSON_TYPE, Reply, json_reply, service_error_header, wrapped_exception

KINDS = frozenset({"latency", "hang", "status", "throttle", "flag", "reset", "malformed_json", "truncated", "sign_in"})
_DELAYS = frozenset({"latency", "hang"})
_ANSWERS = frozenset({"status", "throttle", "reset", "malformed_json", "truncated", "sign_in"})

# Real 503 of a stopped organization, verbatim apart from the org name (docs/azure-devops-behaviours.md §3.1).
_TF24668 = (
    "TF24668: The following team project collection is stopped: {org}. Start the collection and then try again. "
    "Administrator Reason: This Azure DevOps organization has been deactivated due to inactivity. "
    "For more information please visit aka.ms/adofootprintreduction"
)
# Rate-limit resource name: docs/azure-devops-behaviours.md §6 only say it is "for display to a human"; "ATCPU" is
# illustrative.
_RATE_RESOURCE = "ATCPU"


@dataclass
class Fault:
    id: int
    kind: str
    path: re.Pattern[str] | None
    method: str | None
    remaining: int | None
    params: dict[str, Any] = field(default_factory=dict)
    seen: int = 0  # matching requests so far, for `every`

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return self.path is None or self.path.search(path) is not None

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path.pattern if self.path else None,
            "method": self.method,
            "count": self.remaining,
            **self.params,
        }


@dataclass(frozen=True)
class Plan:
    """What the faults do to one request."""

    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()
    answer: Fault | None = None


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self,
        kind: str,
        *,
        path: str | None = None,
        method: str | None = None,
        count: int | None = None,
        **params: Any,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(KINDS)}")
        if count is not None and count < 1:
            raise ValueError("count must be a positive number or None")
        _validate(kind, params)
        fault = Fault(
            id=next(self._ids),
            kind=kind,
            path=re.compile(path, re.IGNORECASE) if path else None,
            method=method.upper() if method else None,
            remaining=count,
            params=params,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]

    def plan(self, method: str, path: str) -> Plan:
        """Pick (and use up) the faults for one request."""
        delay = 0.0
        headers: list[tuple[str, str]] = []
        answer: Fault | None = None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method, path):
                    continue
                if fault.params.get("every"):
                    fault.seen += 1
                    if fault.seen % int(fault.params["every"]):
                        continue
                if fault.kind in _ANSWERS and answer is not None:
                    continue  # only the first answer-replacing fault applies; later ones are not used up
                if fault.kind in _DELAYS:
                    delay += float(fault.params["seconds"])
                elif fault.kind == "flag":
                    headers += _rate_headers(fault.params, blocked=False)
                    delay += float(fault.params.get("delay", 0.0))
                else:
                    answer = fault
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
        return Plan(delay=delay, headers=tuple(headers), answer=answer)


def _validate(kind: str, params: dict[str, Any]) -> None:
    if kind in _DELAYS:
        params.setdefault("seconds", 30.0 if kind == "hang" else None)
        if params["seconds"] is None or float(params["seconds"]) < 0:
            raise ValueError(f"{kind} needs seconds=<non-negative number>")
    if kind == "status":
        status = int(params.get("status", 0))
        if not 400 <= status <= 599:
            raise ValueError("status needs status=<4xx or 5xx>")
        params["status"] = status
    if kind in {"throttle", "flag"}:
        params.setdefault("retry_after", 10)
    if "every" in params and int(params["every"]) < 1:
        raise ValueError("every needs a positive number")


def _rate_headers(params: Mapping[str, Any], *, blocked: bool) -> list[tuple[str, str]]:
    # The X-RateLimit-* headers and Retry-After, as documented (docs/azure-devops-behaviours.md §6). Delay only when
    # delayed/blocked.
    reset = int(time.time()) + int(params.get("reset_in", 300))
    headers = [
        ("Retry-After", str(params["retry_after"])),
        ("X-RateLimit-Resource", str(params.get("resource", _RATE_RESOURCE))),
        ("X-RateLimit-Limit", str(params.get("limit", 200))),
        ("X-RateLimit-Remaining", "0" if blocked else str(params.get("remaining", 20))),
        ("X-RateLimit-Reset", str(reset)),
    ]
    if blocked or params.get("delay"):
        headers.append(("X-RateLimit-Delay", f"{float(params.get('delay', params['retry_after'])):.3f}"))
    return headers


def _status_message(status: int, org: str) -> tuple[str, str]:
    if status == 503:
        return _TF24668.format(org=org), "VssServiceException"
    if status == 409:
        # A work item save that lost a race (docs/azure-devops-behaviours.md §5.3), as public clients quote it.
        return (
            "TF26071: This work item has been changed by someone else since you opened it. You will need to "
            "refresh it and discard your changes.",
            "WorkItemRevisionMismatchException",
        )
    # Generic wording for other statuses: not from a real body.
    return f"The service returned an error ({status}). Try again later.", "VssServiceException"


def fault_reply(fault: Fault, *, org: str) -> Reply:
    params = fault.params
    if fault.kind == "status":
        message, type_key = _status_message(params["status"], org)
        message = str(params.get("message", message))
        reply = json_reply(params["status"], wrapped_exception(message, str(params.get("type_key", type_key))))
        reply.headers.append(service_error_header(message))
        if params["status"] == 503:
            # The real 503 body starts with a UTF-8 BOM (docs/azure-devops-behaviours.md §3.1).
            reply.body = "\ufeff".encode() + reply.body
        return reply
    if fault.kind == "throttle":
        # TF400733 message from the docs (docs/azure-devops-behaviours.md §6); the 429 body's exact JSON and typeKey are
        # not confirmed.
        message = (
            "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource "
            f"'{params.get('resource', _RATE_RESOURCE)}' in namespace 'User'."
        )
        reply = json_reply(429, wrapped_exception(message, "RequestBlockedException"))
        reply.headers += [*_rate_headers(params, blocked=True), service_error_header(message)]
        return reply
    if fault.kind == "reset":
        return Reply(status=0, abort=True)
    if fault.kind == "malformed_json":
        return Reply(status=200, body=b'{"count": 3, "value": [{"id": 1, "rev": ', content_type=JSON_TYPE)
    if fault.kind == "truncated":
        body = json.dumps({"count": 1, "value": [{"id": 1, "rev": 1, "fields": {}}]}).encode()
        return Reply(status=200, body=body[: len(body) // 2], content_type=JSON_TYPE, declared_length=len(body))
    if fault.kind == "sign_in":
        return sign_in_page()
    raise AssertionError(fault.kind)  # pragma: no cover - KINDS is closed
