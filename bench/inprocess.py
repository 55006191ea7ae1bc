"""Measurements taken inside this process with Django set up on the run's database: SQL queries, Test
Connection, the 1,000-item list and token encryption. Timings here exclude HTTP serving, on purpose."""

from __future__ import annotations

import copy
import math
import os
import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.stack import BenchError

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.test import Client

    from ado_emulator import Emulator

HOST = "127.0.0.1"  # in DJANGO_ALLOWED_HOSTS; the test client's "testserver" is not
BANNER_PROCESSOR = "profiles.context_processors.alm_banner"
BENCH_PROJECT = "Bench"
BENCH_ITEMS = 1000
TEST_CONNECTION_LATENCY = 0.2
WORK_ITEMS_LATENCY = 0.05
REPEATS = 3
SERVICE_EMAIL = "almlink-svc@fabrikam.example"  # the demo's service account
CREDENTIAL_ROUNDS = 300
SPLIT_ROUNDS = 5
SPLIT_REQUESTS = 60


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def _client(username: str) -> Client:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    client.force_login(get_user_model().objects.get(username=username))
    return client


# --- Banner: SQL queries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryCounts:
    with_banner: dict[str, int]
    without_banner: dict[str, int]

    @property
    def extra(self) -> int:
        return max(self.with_banner[user] - self.without_banner[user] for user in self.with_banner)


def _queries(client: Client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)  # warm: the first request of a process loads templates and caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise BenchError(f"GET {path} answered {response.status_code} in-process")
    return len(captured.captured_queries)


def _templates_without_banner() -> list[dict[str, Any]]:
    from django.conf import settings

    without = copy.deepcopy(settings.TEMPLATES)
    for engine in without:
        processors = engine.get("OPTIONS", {}).get("context_processors", [])
        if BANNER_PROCESSOR not in processors:
            raise BenchError(f"{BANNER_PROCESSOR} is not in TEMPLATES: the bench measures the wrong thing")
        processors.remove(BANNER_PROCESSOR)
    return without


def measure_queries() -> QueryCounts:
    """Queries of /profile/ as it is, and with the banner's context processor removed."""
    from django.test import override_settings

    without = _templates_without_banner()
    with_banner, without_banner = {}, {}
    for username in ("alice", "bob"):
        client = _client(username)
        with_banner[username] = _queries(client, "/profile/")
        with override_settings(TEMPLATES=without):
            without_banner[username] = _queries(client, "/profile/")
    return QueryCounts(with_banner, without_banner)


@dataclass(frozen=True)
class PageSplit:
    """/profile/ in-process: the floor, the page without the banner, the page with it (medians, ms)."""

    floor_ms: float
    without_banner_ms: float
    with_banner_ms: float
    page_ratio: float  # without the banner ÷ floor: what the page's own content costs
    banner_ratio: float  # with ÷ without: what the banner alone adds to the page


def _mean_ms(client: Client, path: str, requests: int) -> float:
    client.get(path)  # not timed: the first request after a settings change compiles the templates
    started = time.perf_counter()
    for _ in range(requests):
        client.get(path)
    return (time.perf_counter() - started) / requests * 1000


def measure_page_split(username: str) -> PageSplit:
    """Where /profile/'s time goes: its own content, or the banner. Rounds alternate, so drift cancels."""
    from django.test import override_settings

    without = _templates_without_banner()
    client = _client(username)
    floors, withouts, withs = [], [], []
    for _ in range(SPLIT_ROUNDS):
        floors.append(_mean_ms(client, "/_bench/floor/", SPLIT_REQUESTS))
        withs.append(_mean_ms(client, "/profile/", SPLIT_REQUESTS))
        with override_settings(TEMPLATES=without):
            withouts.append(_mean_ms(client, "/profile/", SPLIT_REQUESTS))
    return PageSplit(
        floor_ms=statistics.median(floors),
        without_banner_ms=statistics.median(withouts),
        with_banner_ms=statistics.median(withs),
        page_ratio=statistics.median(o / f for o, f in zip(withouts, floors, strict=True)),
        banner_ratio=statistics.median(w / o for w, o in zip(withs, withouts, strict=True)),
    )


# --- Test Connection ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionCheck:
    wall_ms: float
    one_call_ms: float
    sequential_ms: float
    calls: int
    ok: bool

    @property
    def ratio_to_one_call(self) -> float:
        return self.wall_ms / self.one_call_ms

    @property
    def ratio_to_sequential(self) -> float:
        return self.wall_ms / self.sequential_ms


def _alice_token(emulator: Emulator) -> str:
    for identity in emulator.demo_info()["identities"]:
        if identity["email"] == "alice@fabrikam.example":
            return str(identity["pat"])
    raise BenchError("the emulator's demo has no alice")


def measure_test_connection(emulator: Emulator) -> ConnectionCheck:
    """check_token with every call 200 ms slow, against one call and against the calls laid end to end."""
    from django.conf import settings

    from alm.client import AdoClient
    from alm.connection_urls import address_policy
    from alm.models import AlmConnection
    from alm.services import check_token

    connection = AlmConnection.objects.default()
    if connection is None:
        raise BenchError("seed_demo made no default ALM connection")
    token = _alice_token(emulator)
    # Warm: ResourceAreas is fetched once per process and connection URL, as in a running worker.
    check_token(connection=connection, token=token)
    walls, ones, sequentials, calls, ok = [], [], [], 0, True
    emulator.set_fault("latency", seconds=TEST_CONNECTION_LATENCY)
    try:
        for _ in range(REPEATS):
            emulator.clear_requests()
            started = time.perf_counter()
            report = check_token(connection=connection, token=token)
            walls.append(time.perf_counter() - started)
            records = emulator.requests
            sequentials.append(sum(r.ended - r.started for r in records))
            calls = max(calls, len(records))
            ok = ok and report.ok
            # The floor: one call through the same client, new session included, like the check's.
            started = time.perf_counter()
            with AdoClient(
                connection.url,
                token,
                timeout=settings.ALM_HTTP_TIMEOUT,
                kind=connection.kind,
                addresses=address_policy(connection.kind),
            ) as one:
                one.connection_data()
            ones.append(time.perf_counter() - started)
    finally:
        emulator.clear_faults()
    return ConnectionCheck(
        wall_ms=statistics.median(walls) * 1000,
        one_call_ms=statistics.median(ones) * 1000,
        sequential_ms=statistics.median(sequentials) * 1000,
        calls=calls,
        ok=ok,
    )


# --- Work items list of a 1,000-item project -----------------------------------------------------------


@dataclass(frozen=True)
class WorkItems:
    ado_requests: int
    render_ms: float
    requests_by_kind: dict[str, int]
    status: int = 200
    complete: bool = True  # the page listed the items it was asked for


def _add_project(emulator: Emulator, name: str, items: int, title: str) -> None:
    """A project of `items` work items by bob in the emulator, of every type in turn, titled "`title` <number>"."""
    from workitems.services import TYPES

    by = next(entry.identity for entry in emulator.state.demo if entry.identity.email == "bob@fabrikam.example")
    emulator.add_project("fabrikam", name)
    for number in range(items):
        emulator.add_work_item("fabrikam", name, type=TYPES[number % len(TYPES)], title=f"{title} {number}", by=by)


def add_bench_project(emulator: Emulator) -> None:
    """A project of BENCH_ITEMS items in the emulator, made the default connection's project."""
    from alm.models import AlmConnection

    _add_project(emulator, BENCH_PROJECT, BENCH_ITEMS, "Bench item")
    AlmConnection.objects.filter(is_default=True).update(default_project=BENCH_PROJECT)


def measure_work_items(emulator: Emulator, *, expected_text: str = "", strict: bool = True) -> WorkItems:
    """GET /work-items/?per_page=1000 as bob (his own token) with every Azure DevOps call 50 ms slow.

    Not `strict`: a page that fails is measured and reported, not an error of the benchmark."""
    path = f"/work-items/?per_page={BENCH_ITEMS}"
    client = _client("bob")
    expected = (expected_text or f"{BENCH_ITEMS} work items").encode()
    warm = client.get(path)  # templates, ResourceAreas and such: a running worker has them
    if strict and (warm.status_code != 200 or expected not in warm.content):
        raise BenchError(f"GET {path} answered {warm.status_code} without the {BENCH_ITEMS} items")
    times, counts = [], 0
    kinds: dict[str, int] = {}
    emulator.set_fault("latency", seconds=WORK_ITEMS_LATENCY)
    try:
        for _ in range(REPEATS):
            emulator.clear_requests()
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
            if strict and (response.status_code != 200 or expected not in response.content):
                raise BenchError(f"GET {path} answered {response.status_code} under latency")
            records = emulator.requests
            if len(records) >= counts:
                counts = len(records)
                kinds = {}
                for record in records:
                    kind = f"{record.method} {record.path.rsplit('/_apis/', 1)[-1]}"
                    kinds[kind] = kinds.get(kind, 0) + 1
    finally:
        emulator.clear_faults()
    return WorkItems(
        ado_requests=counts, render_ms=statistics.median(times) * 1000, requests_by_kind=kinds,
        status=response.status_code, complete=expected in response.content,
    )


# --- Token encryption ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Encryption:
    save_us: float
    read_us: float
    read_without_token_us: float
    decrypt_us: float
    derivations_total: int
    derivations_during_rounds: int


def _per_call_us(rounds: int, call: Callable[[], object]) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        call()
    return (time.perf_counter() - started) / rounds * 1_000_000


def measure_encryption() -> Encryption:
    """Saving and reading bob's credential, the decryption alone, and how often the keys were derived."""
    from django.db import connection

    from alm.crypto import derive_keys
    from profiles.models import AlmCredential

    credential = AlmCredential.objects.get(user__username="bob")
    token = credential.token
    field = AlmCredential._meta.get_field("token")
    # The stored bytes, read past the field's converter, so decrypt() below times the decryption alone.
    sql, params = AlmCredential.objects.filter(pk=credential.pk).values_list("token").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ciphertext = cursor.fetchone()[0]
    before = derive_keys.cache_info().misses

    def save() -> None:
        credential.token = token
        credential.save(update_fields=["token"])

    def read() -> None:
        AlmCredential.objects.get(pk=credential.pk)

    def read_without_token() -> None:
        AlmCredential.objects.defer("token").get(pk=credential.pk)

    def decrypt() -> None:
        field.from_db_value(ciphertext, None, connection)

    for call in (save, read, read_without_token, decrypt):
        call()  # warm
    result = Encryption(
        save_us=_per_call_us(CREDENTIAL_ROUNDS, save),
        read_us=_per_call_us(CREDENTIAL_ROUNDS, read),
        read_without_token_us=_per_call_us(CREDENTIAL_ROUNDS, read_without_token),
        decrypt_us=_per_call_us(CREDENTIAL_ROUNDS, decrypt),
        derivations_total=derive_keys.cache_info().misses,
        derivations_during_rounds=derive_keys.cache_info().misses - before,
    )
    if AlmCredential.objects.get(pk=credential.pk).token != token:
        raise BenchError("bob's token did not survive the save/read rounds")
    return result


# --- The largest projects: the first page of 50,000 items against 1,000 --------------------------------

LARGE_PROJECT = "Bench 50000"
LARGE_ITEMS = 50_000


def add_large_project(emulator: Emulator) -> None:
    """A project of LARGE_ITEMS items in the emulator (not made the default: measure_large switches to it)."""
    _add_project(emulator, LARGE_PROJECT, LARGE_ITEMS, "Large item")


def measure_large_project(emulator: Emulator) -> WorkItems:
    """The first page (BENCH_ITEMS items) of the LARGE_ITEMS project, as measure_work_items measures 1,000."""
    from alm.models import AlmConnection

    AlmConnection.objects.filter(is_default=True).update(default_project=LARGE_PROJECT)
    try:
        # Keyset pages say how many items they show, not how many the project has (the WIQL limit).
        return measure_work_items(emulator, expected_text=f"{BENCH_ITEMS} work items on this page", strict=False)
    finally:
        AlmConnection.objects.filter(is_default=True).update(default_project=BENCH_PROJECT)


# --- Service account pressure: 100 people without a token open the work item list ---------------------

PRESSURE_USERS = 100


@dataclass(frozen=True)
class ServiceAccountPressure:
    calls: int  # Azure DevOps calls for all of them
    calls_one_read: int  # what the first one cost: each would cost this without the shared list
    all_as_service_account: bool
    seconds: float  # how long the hundred took: the shared list lives list_cache.TTL seconds

    @property
    def budget(self) -> int:
        """One read per TTL window the run spanned (one window on an idle machine)."""
        from workitems.cache import TTL

        return self.calls_one_read * max(1, math.ceil(self.seconds / TTL))

    @property
    def calls_without_cache(self) -> int:
        return self.calls_one_read * PRESSURE_USERS


def measure_service_account_pressure(emulator: Emulator) -> ServiceAccountPressure:
    """PRESSURE_USERS people with no token each open /work-items/ (the default page) once, one after another."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.cache import cache
    from django.test import Client

    service = next(e.identity.id for e in emulator.state.demo if e.identity.email == SERVICE_EMAIL)
    model = get_user_model()
    password = make_password(None)
    model.objects.bulk_create(
        model(username=f"reader{n:03d}", email=f"reader{n:03d}@fabrikam.example", password=password)
        for n in range(PRESSURE_USERS)
    )
    cache.clear()  # nothing stored from earlier steps
    emulator.clear_requests()
    calls_one_read = 0
    started = time.perf_counter()
    for number, user in enumerate(model.objects.filter(username__startswith="reader").order_by("username")):
        client = Client(HTTP_HOST=HOST)
        client.force_login(user)
        response = client.get("/work-items/")
        if response.status_code != 200 or b"ALM Service Account" not in response.content:
            raise BenchError(f"/work-items/ for a person without a token answered {response.status_code}")
        if number == 0:
            calls_one_read = len(emulator.requests)
    records = emulator.requests
    if any(r.identity_id != service for r in records):
        raise BenchError("a person without a token read with another identity than the service account")
    return ServiceAccountPressure(
        calls=len(records),
        calls_one_read=calls_one_read,
        all_as_service_account=all(r.identity_id == service for r in records),
        seconds=time.perf_counter() - started,
    )
