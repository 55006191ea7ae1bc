"""`python -m bench`: start, measure, print, write bench/results.json, stop. Exit 1 when a budget fails."""

from __future__ import annotations

import os
import platform
import signal
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

from bench import admin_overview, inprocess
from bench.load import Round, ensure_wrk, fetch, median_ratio, sign_in, wrk
from bench.report import Metric, table, write_results
from bench.stack import OUT_DIR, WORKERS, BenchError, Stack

WARM_SECONDS = 1.0
RUN_SECONDS = 1.0
ROUNDS = 8
PAGES = ("floor", "alice", "bob")
BANNER_MARK = 'id="alm-banner"'

BUDGETS = {
    "banner_page_latency_ratio": 1.5,  # /profile/ ÷ the floor page: an alarm, not a design driver
    "banner_page_rps_ratio": 1.5,
    "banner_extra_queries": 1,
    "test_connection_ratio_to_one_call": 1.5,
    "work_items_1000_ado_requests": 6,
    "key_derivations_per_process": 1,
}


def _step(text: str) -> None:
    print(f"· {text}", flush=True)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwind like Ctrl-C, so the finally block stops what we started.
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    started = time.monotonic()
    stack = Stack()
    try:
        return _run(stack, started)
    except KeyboardInterrupt:
        print("\ninterrupted: stopping what the bench started", file=sys.stderr)
        return 130
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    finally:
        stack.stop()


def _run(stack: Stack, started: float) -> int:
    ensure_wrk()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    _step("starting the Azure DevOps emulator")
    emulator = stack.start_emulator()
    env = stack.build_env()
    _step(f"database ({stack.database}): migrate, seed_demo, collectstatic")
    stack.prepare_database()
    _step(f"gunicorn: {WORKERS} workers")
    base = stack.start_gunicorn()

    loads = _page_loads(stack, base)

    _step("in-process: SQL queries, Test Connection, 1,000 work items, token encryption")
    inprocess.setup_django(env)
    queries = inprocess.measure_queries()
    splits = {user: inprocess.measure_page_split(user) for user in ("alice", "bob")}
    check = inprocess.measure_test_connection(emulator)
    inprocess.add_bench_project(emulator)
    items = inprocess.measure_work_items(emulator)
    encryption = inprocess.measure_encryption()

    _step("worker memory after the heaviest page (1,000 work items) in both workers")
    bob = sign_in(base, "bob", stack.password)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(lambda _: fetch(f"{base}/work-items/?per_page={inprocess.BENCH_ITEMS}", bob), range(2 * WORKERS)))
    rss = stack.workers_peak_rss_mb()
    peak_rss = max(rss.values())

    _step("admin overview at 1,000 then 50,000 people: first page, queries, CSV memory")
    overview = admin_overview.measure(base, stack.password)

    metrics = _metrics(loads, queries, splits, check, items, encryption, peak_rss) + admin_overview.metrics(overview)
    elapsed = time.monotonic() - started
    details: dict[str, Any] = {
        "pages": {
            name: {
                "rps": round(_rps(page), 1),
                "median_ms_single": round(_latency_ms(page), 2),
                "median_ms_loaded": round(statistics.median(r.load.median_ms for r in page), 2),
                "rps_by_round": [round(r.load.rps) for r in page],
            }
            for name, page in loads.items()
        },
        "queries_per_page": {"with_banner": queries.with_banner, "without_banner": queries.without_banner},
        "profile_in_process_ms": {
            user: {
                "floor": round(split.floor_ms, 3), "without_banner": round(split.without_banner_ms, 3),
                "with_banner": round(split.with_banner_ms, 3),
            }
            for user, split in splits.items()
        },
        "test_connection": {
            "wall_ms": round(check.wall_ms, 1), "one_call_ms": round(check.one_call_ms, 1),
            "sequential_ms": round(check.sequential_ms, 1), "calls": check.calls, "token_ok": check.ok,
            "latency_s": inprocess.TEST_CONNECTION_LATENCY,
        },
        "work_items_1000": {"requests": items.requests_by_kind, "latency_s": inprocess.WORK_ITEMS_LATENCY},
        "credential": {
            "save_us": round(encryption.save_us, 1), "read_us": round(encryption.read_us, 1),
            "read_without_token_us": round(encryption.read_without_token_us, 1),
            "decrypt_us": round(encryption.decrypt_us, 1),
            "key_derivations_during_rounds": encryption.derivations_during_rounds,
            "rounds": inprocess.CREDENTIAL_ROUNDS,
        },
        "worker_peak_rss_mb": {str(pid): round(mb, 1) for pid, mb in rss.items()},
        "admin_overview": overview.details(),
        "load": f"wrk over keep-alive, {ROUNDS} rounds x ({RUN_SECONDS:g} s -t2 -c8 + {RUN_SECONDS:g} s -c1) per page",
        "server": f"gunicorn config.wsgi, {WORKERS} workers (gthread, 1 thread, --reuse-port)",
        "elapsed_s": round(elapsed, 1),
    }
    context = {
        "machine": f"{platform.machine()}, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "database": stack.database,
    }
    path = write_results(metrics, context=context, details=details)

    print()
    print(f"almlink bench: {os.cpu_count()} cores, {stack.database}, {details['server']}, {details['load']}")
    print()
    print(table(metrics))
    print()
    print(f"Wrote {path.relative_to(path.parent.parent)} in {elapsed:.0f} s.")
    failed = [m.key for m in metrics if not m.ok]
    if failed:
        print(f"Budgets not held: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _page_loads(stack: Stack, base: str) -> dict[str, list[Round]]:
    """wrk on the floor and on /profile/ as alice (banner shown) and bob (token saved, no banner)."""
    cookies = {user: sign_in(base, user, stack.password) for user in ("alice", "bob")}
    pages = {
        "floor": (f"{base}/_bench/floor/", cookies["alice"], False),
        "alice": (f"{base}/profile/", cookies["alice"], True),
        "bob": (f"{base}/profile/", cookies["bob"], False),
    }
    for name, (url, cookie, banner) in pages.items():
        if (BANNER_MARK in fetch(url, cookie)) != banner:
            raise BenchError(f"the {name} page {'lacks' if banner else 'shows'} the banner: not what we measure")
    _step("wrk warm-up")
    for url, cookie, _banner in pages.values():
        wrk(url, cookie, seconds=WARM_SECONDS)
    _step(f"wrk: {ROUNDS} rounds of the three pages, {RUN_SECONDS:g} s loaded + {RUN_SECONDS:g} s single each")
    log = OUT_DIR / "wrk.log"
    log.unlink(missing_ok=True)
    rounds: dict[str, list[Round]] = {name: [] for name in PAGES}
    for number in range(ROUNDS):
        # Back and forth (F A B, B A F, ...): a machine speeding up or slowing down within a round
        # weighs on every page alike instead of on whichever page comes last.
        for name in PAGES if number % 2 == 0 else PAGES[::-1]:
            url, cookie, _banner = pages[name]
            loaded = wrk(url, cookie, seconds=RUN_SECONDS, out=log)
            single = wrk(url, cookie, seconds=RUN_SECONDS, connections=1, out=log)
            if loaded.errors or single.errors:
                raise BenchError(f"wrk saw failed requests on the {name} page; see {log}")
            rounds[name].append(Round(loaded, single))
    return rounds


def _latency_ms(rounds: list[Round]) -> float:
    return statistics.median(r.single.median_ms for r in rounds)


def _rps(rounds: list[Round]) -> float:
    return statistics.median(r.load.rps for r in rounds)


def _metrics(
    loads: dict[str, list[Round]],
    queries: inprocess.QueryCounts,
    splits: dict[str, inprocess.PageSplit],
    check: inprocess.ConnectionCheck,
    items: inprocess.WorkItems,
    encryption: inprocess.Encryption,
    peak_rss: float,
) -> list[Metric]:
    floor = loads["floor"]
    users = ("alice", "bob")
    # Per user, the median of per-round ratios; then the worse user, as the budget reads.
    latency_ratio = max(
        median_ratio([r.single.median_ms for r in loads[u]], [r.single.median_ms for r in floor]) for u in users
    )
    rps_ratio = max(median_ratio([r.load.rps for r in floor], [r.load.rps for r in loads[u]]) for u in users)
    return [
        Metric(
            "banner_page_latency_ratio", "/profile/ median latency ÷ floor (1 connection)", latency_ratio, "x",
            f"floor {_latency_ms(floor):.2f} ms, no token {_latency_ms(loads['alice']):.2f} ms, "
            f"token {_latency_ms(loads['bob']):.2f} ms",
            BUDGETS["banner_page_latency_ratio"],
        ),
        Metric(
            "banner_page_rps_ratio", "Floor requests/s ÷ /profile/ (8 connections)", rps_ratio, "x",
            f"floor {_rps(floor):.0f}/s, no token {_rps(loads['alice']):.0f}/s, token {_rps(loads['bob']):.0f}/s",
            BUDGETS["banner_page_rps_ratio"],
        ),
        Metric(
            "banner_increment_ratio", "/profile/ with banner ÷ without (in-process)",
            max(split.banner_ratio for split in splits.values()), "x",
            "; ".join(
                f"{user}: floor {split.floor_ms:.2f}, page without banner {split.without_banner_ms:.2f} "
                f"({split.page_ratio:.2f}x floor), with {split.with_banner_ms:.2f} ms"
                for user, split in splits.items()
            ),
        ),
        Metric(
            "banner_extra_queries", "SQL queries the banner adds per page", queries.extra, "",
            ", ".join(
                f"{user} {queries.with_banner[user]} vs {queries.without_banner[user]}" for user in queries.with_banner
            ),
            BUDGETS["banner_extra_queries"],
        ),
        Metric(
            "test_connection_ratio_to_one_call", "Test Connection vs one call (200 ms each)",
            check.ratio_to_one_call, "x",
            f"{check.wall_ms:.0f} ms vs one call {check.one_call_ms:.0f} ms",
            BUDGETS["test_connection_ratio_to_one_call"],
        ),
        Metric(
            "test_connection_ratio_to_sequential", "Test Connection vs its calls in sequence",
            check.ratio_to_sequential, "x",
            f"{check.wall_ms:.0f} ms vs {check.calls} calls end to end {check.sequential_ms:.0f} ms",
        ),
        Metric(
            "work_items_1000_ado_requests", "Work items, 1,000 items: calls to Azure DevOps",
            items.ado_requests, "", ", ".join(f"{n} {kind}" for kind, n in items.requests_by_kind.items()),
            BUDGETS["work_items_1000_ado_requests"],
        ),
        Metric(
            "work_items_1000_render_ms", "Work items, 1,000 items: server time (50 ms per call)",
            items.render_ms, " ms", "in-process, median of 3",
        ),
        Metric(
            "credential_save_us", "Save one credential (encrypt + UPDATE)", encryption.save_us, " µs",
            f"mean of {inprocess.CREDENTIAL_ROUNDS}",
        ),
        Metric(
            "credential_read_us", "Read one credential (SELECT + decrypt)", encryption.read_us, " µs",
            f"without the token {encryption.read_without_token_us:.0f} µs, "
            f"decrypt alone {encryption.decrypt_us:.0f} µs",
        ),
        Metric(
            "key_derivations_per_process", "Key derivations in this process", encryption.derivations_total, "",
            f"{encryption.derivations_during_rounds} during {2 * inprocess.CREDENTIAL_ROUNDS} saves and reads",
            BUDGETS["key_derivations_per_process"], exact=True,
        ),
        Metric("worker_peak_rss_mb", "Peak RSS of one gunicorn worker", peak_rss, " MB", "VmHWM, largest worker"),
    ]
