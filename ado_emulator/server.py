"""The Emulator: a threaded HTTP server on loopback that answers like Azure DevOps, and its Python API."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit

from ado_emulator import control
from ado_emulator import workitems as wi
from ado_emulator.api import Api, Incoming
from ado_emulator.entra import EntraAuthority
from ado_emulator.errors import ApiError, Reply
from ado_emulator.faults import FaultBook, fault_reply
from ado_emulator.model import Behaviour, Identity, Org, PatRecord, Project, RequestRecord
from ado_emulator.state import Clock, State, read_demo, utc_now

CONTROL_PREFIX = "_emulator"


class _Server(ThreadingHTTPServer):
    # Daemon threads: a hung or slow request never blocks another one, nor shutdown.
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a burst of clients (the token check runs hundreds of calls at
    # once) overflowed it, and the kernel's SYN retries added whole seconds. The real service has no such limit.
    request_queue_size = 1024
    emulator: Emulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real service
    server_version = "ado-emulator"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus delayed ACKs add ~40 ms
        # to every keep-alive answer and would distort the latency tests.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        # Silent: the request log is emu.requests, and a log line could carry a secret.
        return

    def _serve(self) -> None:
        emulator = self.server.emulator
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        raw_segments = [s for s in split.path.split("/") if s]
        segments = [unquote(s) for s in raw_segments]
        if segments and segments[0].lower() == CONTROL_PREFIX:
            self._write(control.handle(emulator, self.command, segments[1:], body))
            return
        generation = emulator.generation
        incoming = Incoming(
            method=self.command,
            path=unquote(split.path),
            segments=tuple(segments),
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        reply, identity_id = emulator.serve(incoming)
        # Logged before the answer leaves, so a client that has its answer always finds the entry.
        emulator.record(
            RequestRecord(
                method=incoming.method,
                path=incoming.path,
                query=dict(incoming.query),
                status=reply.status,
                identity_id=identity_id,
                started=started,
                ended=time.monotonic(),
            ),
            generation=generation,
        )
        self._write(reply)

    # BaseHTTPRequestHandler calls do_<METHOD>: every method is served alike (Api routes by method and path).
    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def _write(self, reply: Reply) -> None:
        if reply.abort:
            # Reset the connection: SO_LINGER 0 turns close() into a TCP RST, no response at all.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.connection.close()
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(reply.declared_length or len(reply.body)))
            if reply.declared_length is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. a timeout during a "hang" fault).
            self.close_connection = True
            return
        if reply.declared_length is not None:
            # Truncated answer: fewer bytes than announced, then the connection closes.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)


class Emulator:
    """An Azure DevOps emulator on loopback. See ado_emulator/__init__.py for the whole API."""

    def __init__(self, demo: bool = True, *, behaviour: Behaviour | None = None, clock: Clock | None = None) -> None:
        self._demo = demo
        self._initial_behaviour = behaviour or Behaviour()
        self._clock = clock or utc_now
        self.deployment_id = str(uuid.uuid4())
        self.process_id = str(uuid.uuid4())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._faults = FaultBook()
        self._log_lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        # Bumped by reset(): a request that began before it (e.g. still sleeping in a "hang" fault its client gave
        # up on) is not logged into the next test's request log.
        self.generation = 0
        self._api = Api(self)
        self._last_address: tuple[str, int] | None = None
        self._load()
        # The Entra ID authority (HTTPS, its own port); it reads identities from the current state.
        self.entra = EntraAuthority(lambda: self.state)

    def _load(self) -> None:
        state = State(clock=self._clock)
        self.started_at: datetime = state.now()
        self._behaviour = self._initial_behaviour
        if self._demo:
            state.load_demo(read_demo())
        self.state = state

    # --- lifecycle -----------------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0, *, entra_port: int = 0) -> Emulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        self._stopping.clear()
        server = _Server((host, port), _Handler)
        server.emulator = self
        self._server = server
        self._last_address = cast(tuple[str, int], server.server_address[:2])  # an AF_INET server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.entra.start(host, entra_port)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.entra.stop()
        self._stopping.set()  # wakes requests sleeping in a latency/hang fault
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Emulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is not None:
            host, port = cast(tuple[str, int], self._server.server_address[:2])
            return f"http://{host}:{port}"
        if self._stopping.is_set() and self._last_address:
            # A request woken by stop() (out of a hang fault) still finishes its answer.
            host, port = self._last_address
            return f"http://{host}:{port}"
        raise RuntimeError("the emulator is not running; call start() first")

    def org_url(self, name: str = "fabrikam") -> str:
        return f"{self.base_url}/{self.state.org_data(name).org.path}"

    # --- behaviour -----------------------------------------------------------------------------------------

    @property
    def behaviour(self) -> Behaviour:
        return self._behaviour

    @behaviour.setter
    def behaviour(self, value: Behaviour) -> None:
        self._behaviour = value

    def configure(self, **changes: Any) -> Behaviour:
        """Change some of the not-confirmed behaviours (model.Behaviour); reset() restores them."""
        known = {f.name for f in fields(Behaviour)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown behaviour {sorted(unknown)}; known: {sorted(known)}")
        self._behaviour = replace(self._behaviour, **changes)
        return self._behaviour

    def reset(self) -> None:
        """Back to the initial (demo or empty) state; faults and the request log cleared."""
        self._faults.clear()
        self._load()
        self.entra.reset()
        with self._log_lock:
            self.generation += 1
            self._requests.clear()

    # --- organizations, identities, tokens -----------------------------------------------------------------

    def add_org(self, name: str, **options: Any) -> Org:
        """A new organization; the options are State.add_org's (kind, public_projects, collection_path, ...)."""
        return self.state.add_org(name, **options)

    def add_identity(
        self, *, org: str | Org = "fabrikam", display_name: str, email: str, id: str | None = None
    ) -> Identity:
        return self.state.add_identity(org=org, display_name=display_name, email=email, id=id)

    def add_member(self, identity: Identity | str, org: str | Org) -> None:
        self.state.add_member(identity, org)

    def set_org_admin(self, identity: Identity | str, org: str | Org = "fabrikam", admin: bool = True) -> None:
        """Make a member an organization administrator (Project Collection Administrators), or no longer one."""
        self.state.set_org_admin(identity, org, admin)

    def set_project_admin(
        self, identity: Identity | str, project: str, org: str | Org = "fabrikam", admin: bool = True
    ) -> None:
        """Make a member an administrator of one project, or no longer one."""
        self.state.set_project_admin(identity, org, project, admin)

    def issue_pat(self, identity: Identity | str, **options: Any) -> str:
        """A new PAT for `identity`; the options are State.issue_pat's (scopes, valid_to, valid_from, orgs, ...)."""
        return self.state.issue_pat(identity, **options)

    def revoke_pat(self, token: str) -> PatRecord:
        return self.state.revoke_pat(token)

    def expire_pat(self, token: str) -> PatRecord:
        return self.state.expire_pat(token)

    def reassign_pat(self, token: str, identity: Identity | str) -> PatRecord:
        return self.state.reassign_pat(token, identity)

    def pat_info(self, token: str) -> PatRecord:
        return self.state.pat_info(token)

    # --- projects and work items ---------------------------------------------------------------------------

    def add_project(self, org: str | Org, name: str, *, description: str = "", process: str = "Scrum") -> Project:
        """A project created from the Scrum (default) or the Agile process."""
        return self.state.add_project(org, name, description=description, process=process)

    def _project(self, org: str | Org, project: str | Project) -> tuple[Any, Project]:
        data = self.state.org_data(org)
        key = project.id if isinstance(project, Project) else project
        found = self.state.find_project(data, key)
        if found is None:
            raise KeyError(f"no project {key!r} in {data.org.name}")
        return data, found

    def add_work_item(
        self,
        org: str | Org,
        project: str | Project,
        *,
        type: str = "Task",
        title: str,
        state: str | None = None,
        assigned_to: Identity | str | None = None,
        by: Identity,
        fields: Mapping[str, Any] | None = None,
    ) -> int:
        """Create one item as `by` (state None = the type's first state, "To Do" for a Task); return its id."""
        data, found = self._project(org, project)
        operations: list[dict[str, Any]] = [{"op": "add", "path": "/fields/System.Title", "value": title}]
        if state is not None:
            operations.append({"op": "add", "path": "/fields/System.State", "value": state})
        if assigned_to is not None:
            value = assigned_to.email if isinstance(assigned_to, Identity) else assigned_to
            operations.append({"op": "add", "path": "/fields/System.AssignedTo", "value": value})
        for ref, value in (fields or {}).items():
            operations.append({"op": "add", "path": f"/fields/{ref}", "value": value})
        try:
            record = self.state.create_item(data, found, type, operations, by=by.id)
        except ApiError as error:
            raise ValueError(error.message) from None
        return record.id

    def add_work_items(
        self, org: str | Org, project: str | Project, items: Iterable[Mapping[str, Any]], *, by: Identity
    ) -> list[int]:
        """Several items: each a dict of add_work_item's keyword arguments (type, title, state, assigned_to, fields)."""
        return [self.add_work_item(org, project, by=by, **dict(item)) for item in items]

    def add_many_work_items(
        self,
        org: str | Org,
        project: str | Project,
        count: int,
        *,
        type: str = "Task",
        title: str = "Item {n}",
        by: Identity,
    ) -> list[int]:
        """`count` items of one type in their first state, titled `title.format(n=...)`; fast (State.create_many)."""
        data, found = self._project(org, project)
        try:
            return self.state.create_many(data, found, type, [title.format(n=n) for n in range(count)], by=by.id)
        except ApiError as error:
            raise ValueError(error.message) from None

    def _links(self, org: str | Org) -> wi.Links:
        return wi.Links(self.base_url, self.state.org_data(org).org)

    def work_item(self, org: str | Org, id: int) -> dict[str, Any]:
        """The item as GET .../_apis/wit/workitems/{id} serves it now; KeyError when missing or deleted."""
        data = self.state.org_data(org)
        with self.state.lock:
            try:
                record = self.state.live_item(data, id)
            except ApiError as error:
                raise KeyError(error.message) from None
            return wi.item_json(
                record, project=data.projects[record.project_id], links=self._links(org), identities=self.state.identity
            )

    def work_item_revisions(self, org: str | Org, id: int) -> list[dict[str, Any]]:
        """Every revision, oldest first: rev, fields (as served), changed_by, changed_date. Deleted items too."""
        data = self.state.org_data(org)
        links = self._links(org)
        with self.state.lock:
            record = data.work_items.get(id)
            if record is None:
                raise KeyError(f"no work item {id} in {data.org.name}")
            answer = []
            for revision in record.revisions:
                changer = self.state.identity(revision.changed_by)
                answer.append(
                    {
                        "rev": revision.rev,
                        "fields": wi.revision_fields(
                            record, revision, links=links, identities=self.state.identity, expanded=True
                        ),
                        "changed_by": {
                            "id": revision.changed_by,
                            "display_name": changer.display_name if changer else None,
                            "email": changer.email if changer else None,
                        },
                        "changed_date": wi.iso(revision.changed_date),
                    }
                )
            return answer

    # --- faults and the request log ------------------------------------------------------------------------

    def set_fault(self, kind: str, **options: Any) -> int:
        """Inject a fault; the options are FaultBook.add's (path, method, count and the kind's own). Returns its id."""
        return self._faults.add(kind, **options).id

    def clear_faults(self) -> None:
        self._faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        return self._faults.list()

    @property
    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._log_lock:
            self._requests.clear()

    def record(self, entry: RequestRecord, *, generation: int | None = None) -> None:
        with self._log_lock:
            if generation is None or generation == self.generation:
                self._requests.append(entry)

    # --- demo ----------------------------------------------------------------------------------------------

    def demo_info(self) -> dict[str, Any]:
        """The demo org and identities with their fixed PATs (same JSON as GET /_emulator/demo)."""
        state = self.state
        if not state.demo_org:
            return {"org": None, "org_url": None, "project": None, "identities": []}
        identities = []
        for entry in state.demo:
            record = state.pat_info(entry.token)
            identities.append(
                {
                    "name": entry.identity.display_name,
                    "email": entry.identity.email,
                    "id": entry.identity.id,
                    "subject_descriptor": entry.identity.subject_descriptor,
                    "pat": entry.token,
                    "scopes": record.scopes,
                    "valid_to": wi.iso(record.valid_to),
                    "revoked": record.revoked,
                }
            )
        return {
            "org": state.demo_org,
            "org_url": self.org_url(state.demo_org),
            "project": state.demo_project,
            "identities": identities,
        }

    # --- serving -------------------------------------------------------------------------------------------

    def serve(self, incoming: Incoming) -> tuple[Reply, str | None]:
        """One API request: faults first (they stand for the network and the front end), then the API."""
        plan = self._faults.plan(incoming.method, incoming.path)
        if plan.delay:
            self._stopping.wait(plan.delay)
        identity_id = None
        if plan.answer is not None:
            org = incoming.segments[0] if incoming.segments else ""
            reply = fault_reply(plan.answer, org=org)
        else:
            outcome = self._api.handle(incoming)
            reply, identity_id = outcome.reply, outcome.identity_id
        reply.headers.extend(plan.headers)
        activity = str(uuid.uuid4())
        # Every real answer carries these; ActivityId and X-VSS-E2EID hold the same GUID
        # (docs/azure-devops-behaviours.md §2.1, 3.2).
        reply.headers += [
            ("ActivityId", activity),
            ("X-VSS-E2EID", activity),
            ("X-TFS-ProcessId", self.process_id),
            ("X-TFS-Session", incoming.headers.get("x-tfs-session") or activity),
            ("X-VSS-SenderDeploymentId", self.deployment_id),
            ("X-Content-Type-Options", "nosniff"),
            ("Cache-Control", "no-cache, no-store, must-revalidate"),
        ]
        return reply, identity_id

    def __repr__(self) -> str:
        where = self.base_url if self._server else "stopped"
        return f"<Emulator {where}>"
