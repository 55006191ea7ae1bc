"""What the benchmark starts, and always stops: a temporary directory, the emulator, a database, gunicorn."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import requests

from ado_emulator import Emulator
from alm.crypto import generate_key

if TYPE_CHECKING:
    import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent
OUT_DIR = BASE_DIR / "bench" / "out"
WORKERS = 2
# django-environ's names for PostgreSQL; libpq itself only knows the first two.
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql", "pgsql", "psql", "postgis"})


class BenchError(RuntimeError):
    """The benchmark could not measure (a step failed); the message says which."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bench_url(url: str) -> tuple[str, str]:
    """The URL of a separate database next to the configured one (name + "_bench"), and that name.

    The benchmark drops and recreates it, so it must never be the database DATABASE_URL names.
    """
    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "almlink"
    bench_name = name if name.endswith("_bench") else f"{name}_bench"
    return urlunsplit(parts._replace(path=f"/{bench_name}")), bench_name


def _libpq_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql", path=f"/{database}"))


class Stack:
    """The processes and files of one run. `stop()` is safe to call at any point, and more than once."""

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="almlink-bench-"))
        self.emulator: Emulator | None = None
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.hosts: list[subprocess.Popen[bytes]] = []  # extra app hosts (the two-host scenario)
        self.base_url = ""
        self.env: dict[str, str] = {}
        # A fresh random password: the demo's well-known one never sits in a database we create.
        self.password = secrets.token_urlsafe(18)
        self.database = "SQLite"
        self._postgres: tuple[str, str] | None = None  # (configured URL, bench database name)
        self.gunicorn_log = OUT_DIR / "gunicorn.log"

    # --- setup ---------------------------------------------------------------------------------------

    def start_emulator(self) -> Emulator:
        self.emulator = Emulator(demo=True).start()
        return self.emulator

    def build_env(self) -> dict[str, str]:
        """The environment of every child (and of this process once it sets Django up)."""
        if self.emulator is None:
            raise BenchError("start the emulator first: seed_demo points the connection at it")
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "bench.settings",
                # The developer's .env (debug on, their keys) must not leak into what we measure.
                "DJANGO_ENV_FILE": "/dev/null",
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "ALM_ENCRYPTION_KEY": generate_key(),
                "DJANGO_DEBUG": "false",
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "ALM_ALLOW_LOOPBACK_HTTP": "true",
                "ALM_EMULATOR_URL": self.emulator.org_url("fabrikam"),
                "DEMO_PASSWORD": self.password,
                "BENCH_STATIC_ROOT": str(self.tmp / "static"),
                "DJANGO_LOG_LEVEL": "WARNING",
                "DATABASE_URL": self._database_url(),
            }
        )
        self.env = env
        return env

    def _database_url(self) -> str:
        configured = os.environ.get("DATABASE_URL", "")
        scheme = urlsplit(configured).scheme.lower() if configured else ""
        if scheme in POSTGRES_SCHEMES:
            url, name = postgres_bench_url(configured)
            self._postgres = (configured, name)
            self.database = f"PostgreSQL ({name})"
            return url
        if configured and scheme != "sqlite":
            raise BenchError(f"DATABASE_URL scheme {scheme!r}: the benchmark runs on SQLite or PostgreSQL")
        return f"sqlite:///{self.tmp / 'bench.sqlite3'}"

    def prepare_database(self) -> None:
        if self._postgres is not None:
            from psycopg import sql

            configured, name = self._postgres
            with _maintenance_connection(configured, name) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # Static files first: with the manifest storage, the URLconf resolves a static URL on import,
        # and migrate's checks import the URLconf.
        self.manage("collectstatic", "--noinput")
        self.manage("migrate", "--noinput")
        self.manage("seed_demo", "--force")

    def manage(self, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, "manage.py", *args, "-v", "0"],
            cwd=BASE_DIR, env=self.env, capture_output=True, text=True, timeout=180, check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"manage.py {args[0]} failed:\n{done.stderr.strip()[-3000:]}")

    def start_gunicorn(self) -> str:
        self.base_url, self.gunicorn = self._gunicorn(WORKERS)
        return self.base_url

    def start_host(self, workers: int) -> str:
        """Another app host (its own gunicorn) over the same database and cache; stopped by stop()."""
        url, process = self._gunicorn(workers)
        self.hosts.append(process)
        return url

    def _gunicorn(self, workers: int) -> tuple[str, subprocess.Popen[bytes]]:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--workers", str(workers),
            # gthread with one thread: one request at a time per worker, as with the default sync
            # worker, but it keeps connections alive (sync closes after every answer), so wrk
            # measures the app rather than TCP handshakes.
            "--worker-class", "gthread", "--threads", "1",
            # A listening socket per worker, spread by the kernel: on one shared socket the worker
            # awake first accepts most of wrk's connections, and keep-alive pins them there, which
            # left one worker idle in about half of the runs.
            "--reuse-port",
            "--bind", f"127.0.0.1:{port}",
            "--error-logfile", str(self.gunicorn_log), "--log-level", "warning",
        ]
        # Its own session: a Ctrl-C in the terminal reaches us, and we stop gunicorn in order.
        process = subprocess.Popen(command, cwd=BASE_DIR, env=self.env, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchError(f"gunicorn exited with {process.returncode}; see {self.gunicorn_log}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base_url}/accounts/login/", timeout=2).status_code == 200 and len(
                    _children(process.pid)
                ) == workers:
                    return base_url, process
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        raise BenchError(f"gunicorn did not answer within 60 s; see {self.gunicorn_log}")

    # --- observation ---------------------------------------------------------------------------------

    def worker_pids(self) -> list[int]:
        """The gunicorn master's children, read from /proc (no psutil needed)."""
        if self.gunicorn is None:
            return []
        return _children(self.gunicorn.pid)

    def workers_peak_rss_mb(self) -> dict[int, float]:
        """Each worker's VmHWM (peak resident set since it started), in MB."""
        peaks = {pid: kb / 1024 for pid in self.worker_pids() if (kb := vm_hwm_kb(pid)) is not None}
        if not peaks:
            raise BenchError("could not read the gunicorn workers' memory from /proc")
        return peaks

    # --- teardown ------------------------------------------------------------------------------------

    def stop(self) -> None:
        gunicorn, self.gunicorn = self.gunicorn, None
        hosts, self.hosts = self.hosts, []
        for process in [*hosts, *([gunicorn] if gunicorn is not None else [])]:
            _stop_gunicorn(process)
        emulator, self.emulator = self.emulator, None
        if emulator is not None:
            emulator.stop()
        postgres, self._postgres = self._postgres, None
        if postgres is not None:
            self._drop_postgres(*postgres)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _drop_postgres(self, configured: str, name: str) -> None:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()  # this process's own connection would block the drop
        try:
            from psycopg import sql

            with _maintenance_connection(configured, name) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        except Exception as error:  # a leftover bench database is harmless; say so and go on
            print(f"note: could not drop the bench database {name}: {type(error).__name__}", file=sys.stderr)


def _maintenance_connection(configured: str, bench_name: str) -> psycopg.Connection[Any]:
    """An autocommit connection from which to drop and create the bench database: the server's
    "postgres" database, else the configured one (never the bench database itself)."""
    import psycopg

    source = urlsplit(configured).path.lstrip("/")
    candidates = ["postgres", *([source] if source and source not in ("postgres", bench_name) else [])]
    failure = ""
    for database in candidates:
        try:
            return psycopg.connect(_libpq_url(configured, database), autocommit=True)
        except psycopg.OperationalError as error:
            # libpq's message names host, user and database, never the password.
            failure = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    raise BenchError(f"cannot connect to PostgreSQL to create the database {bench_name}: {failure}")


def _stop_gunicorn(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        # Only the process group we created (start_new_session): master and its workers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def _children(pid: int) -> list[int]:
    """A process's children, read from /proc (no psutil needed)."""
    pids: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            pids.extend(int(child) for child in children.read_text().split())
    return sorted(set(pids))


def vm_hwm_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None
