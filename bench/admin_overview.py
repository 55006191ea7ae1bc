"""The administrator's overview of everyone's tokens at 1,000 and at 50,000 people.

For each size: the first page's median latency over HTTP (wrk, one connection, gunicorn), its SQL
queries (in-process), and the Python memory peak while the CSV of everyone streams (tracemalloc,
in-process), after checking that the CSV holds every row the counts announce. Eight people in ten
have a saved token, in every state a seed can give. The people are added to the run's database in
place: 1,000 first, then up to 50,000.
"""

from __future__ import annotations

import statistics
import tracemalloc
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from bench.load import sign_in, wrk
from bench.report import Metric
from bench.stack import BenchError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from django.http import StreamingHttpResponse

SIZES = (1_000, 50_000)
OVERVIEW = "/admin/profiles/almcredential/overview/"
LATENCY_SECONDS = 3.0
LATENCY_ROUNDS = 3
BATCH = 5_000
# The budgets of issue "The administrator's pages with 50,000 people".
PAGE_RATIO_BUDGET = 1.5
CSV_GROWTH_BUDGET_MB = 10.0


@dataclass(frozen=True)
class Size:
    people: int
    page_ms: float
    page_ms_by_round: list[float]
    queries: int
    csv_peak_mb: float
    csv_rows: int
    csv_bytes: int
    counts: dict[str, int]


@dataclass(frozen=True)
class AdminOverview:
    sizes: dict[int, Size]

    def details(self) -> dict[str, Any]:
        return {
            str(people): {
                "page_ms": round(size.page_ms, 2),
                "page_ms_by_round": [round(ms, 2) for ms in size.page_ms_by_round],
                "queries": size.queries,
                "csv_peak_mb": round(size.csv_peak_mb, 2),
                "csv_rows": size.csv_rows,
                "csv_bytes": size.csv_bytes,
                "counts": size.counts,
            }
            for people, size in self.sizes.items()
        } | {"load": f"wrk -c1, {LATENCY_ROUNDS} x {LATENCY_SECONDS:g} s, median of the rounds' medians"}


def measure(base: str, password: str) -> AdminOverview:
    """Grow the people to each size and measure; Django is set up on the run's database."""
    from alm.models import AlmConnection

    connection = AlmConnection.objects.default()
    if connection is None:
        raise BenchError("seed_demo made no default ALM connection")
    cookie = sign_in(base, "admin", password)
    sizes = {}
    for people in SIZES:
        _grow_to(people, connection)
        sizes[people] = _measure(base, cookie, people)
    return AdminOverview(sizes)


def _grow_to(people: int, connection: Any) -> None:
    """Add people (and the credentials of eight in ten) until `people` are active."""
    from django.contrib.auth import get_user_model
    from django.db import connection as db
    from django.utils import timezone

    from profiles.models import AlmCredential

    user_model = get_user_model()
    active = user_model.objects.filter(is_active=True)
    extra = active.count() - people
    if extra > 0:
        # People left by an earlier scenario (the daily check's thousands): not part of this overview.
        spare = active.filter(is_staff=False).exclude(username__startswith="bench").order_by("-pk")[:extra]
        user_model.objects.filter(pk__in=list(spare.values_list("pk", flat=True))).update(is_active=False)
    start = user_model.objects.filter(is_active=True).count()
    now = timezone.now()
    kinds: dict[int, dict[str, Any]] = {
        2: {}, 3: {}, 4: {},
        5: {"expires_on": now + timedelta(days=5)},
        6: {"status": "rejected", "rejected_reason": "revoked"},
        7: {"expires_on": now - timedelta(days=2)},
        8: {"status": "unverified"},
        9: {"ado_email": "someone.else@bench.example"},
    }  # fmt: skip
    for first in range(start, people, BATCH):
        numbers = range(first, min(first + BATCH, people))
        made = user_model.objects.bulk_create(
            user_model(
                username=f"bench{n:06}", email=f"Bench{n:06}@bench.example", first_name="Bench", last_name=str(n)
            )
            for n in numbers
        )
        AlmCredential.objects.bulk_create(
            AlmCredential(
                user=person,
                connection=connection,
                token=f"benchtoken{n:042}",
                **{
                    "status": "working",
                    # The same person; one in ten written in other case by Azure DevOps.
                    "ado_email": person.email.lower() if n % 100 < 10 else person.email,
                    "ado_id": f"bench-{n}",
                    "ado_display_name": f"Bench {n}",
                    "origin": connection.url,
                    "expires_on": now + timedelta(days=200),
                    **kinds[n % 10],
                },
            )
            for n, person in zip(numbers, made, strict=True)
            if n % 10 in kinds
        )
    if user_model.objects.filter(is_active=True).count() != people:
        raise BenchError(f"could not bring the active people to {people}")
    if db.vendor == "postgresql":
        # Statistics as autovacuum would soon have them: planned on the empty tables' figures, the
        # CSV's join was a nested loop over 50,000 x 40,000 rows.
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")


def _measure(base: str, cookie: str, people: int) -> Size:
    from django.contrib.auth import get_user_model
    from django.db import connection as db
    from django.test import Client
    from django.utils import timezone

    from profiles.overview import connections_shown, state_counts

    url = f"{base}{OVERVIEW}"
    page_medians = []
    for _ in range(LATENCY_ROUNDS):
        run = wrk(url, cookie, seconds=LATENCY_SECONDS, connections=1)
        if run.errors or not run.requests:
            raise BenchError(f"wrk saw failed requests on the overview at {people} people")
        page_medians.append(run.median_ms)

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="admin"))
    client.get(OVERVIEW)  # warm: templates
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    # An execute wrapper rather than the debug query log, which the request's start empties midway.
    with db.execute_wrapper(count):
        page = client.get(OVERVIEW)
    if page.status_code != 200 or b"overview-rows" not in page.content:
        raise BenchError(f"the overview answered {page.status_code} at {people} people")

    counts = {str(state): n for state, n in state_counts(connections=connections_shown(), now=timezone.now()).items()}
    tracemalloc.start()
    try:
        response = client.get(OVERVIEW, {"format": "csv"})
        lines = size = 0
        # A WSGI response: its content is a plain iterator (never the async one).
        chunks = cast("Iterator[bytes]", cast("StreamingHttpResponse", response).streaming_content)
        for chunk in chunks:
            lines += chunk.count(b"\n")
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if lines - 1 != sum(counts.values()) or sum(counts.values()) < people:
        raise BenchError(f"the CSV at {people} people has {lines - 1} rows; the counts say {sum(counts.values())}")
    return Size(
        people=people,
        page_ms=statistics.median(page_medians),
        page_ms_by_round=page_medians,
        queries=len(queries),
        csv_peak_mb=peak / 1024 / 1024,
        csv_rows=lines - 1,
        csv_bytes=size,
        counts=counts,
    )


def metrics(result: AdminOverview) -> list[Metric]:
    small, large = (result.sizes[people] for people in SIZES)
    return [
        Metric(
            "admin_overview_1000_ms",
            "Admin overview, 1,000 people: first page",
            small.page_ms,
            " ms",
            "median latency, wrk -c1",
        ),
        Metric(
            "admin_overview_50000_ms",
            "Admin overview, 50,000 people: first page",
            large.page_ms,
            " ms",
            f"{large.page_ms / small.page_ms:.2f}x the page at 1,000 people (budget {PAGE_RATIO_BUDGET:g}x)",
            round(PAGE_RATIO_BUDGET * small.page_ms, 1),
        ),
        Metric(
            "admin_overview_1000_queries", "Admin overview, 1,000 people: SQL queries", small.queries, "", "in-process"
        ),
        Metric(
            "admin_overview_50000_queries",
            "Admin overview, 50,000 people: SQL queries",
            large.queries,
            "",
            "the same as at 1,000 people",
            small.queries,
            exact=True,
        ),
        Metric(
            "admin_csv_1000_peak_mb",
            "Admin CSV, 1,000 people: Python memory peak",
            small.csv_peak_mb,
            " MB",
            f"tracemalloc, {small.csv_rows} rows, {small.csv_bytes / 1024:.0f} KB streamed",
        ),
        Metric(
            "admin_csv_50000_peak_mb",
            "Admin CSV, 50,000 people: Python memory peak",
            large.csv_peak_mb,
            " MB",
            f"tracemalloc, {large.csv_rows} rows, {large.csv_bytes / 1024 / 1024:.1f} MB streamed, "
            f"all rows the counts announce",
            round(small.csv_peak_mb + CSV_GROWTH_BUDGET_MB, 1),
        ),
    ]
