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

from bench import admin_overview, hosts, inprocess, lifecycle
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
    "two_hosts_rps_ratio": 1.5,  # at least: two one-worker hosts on two cores, nothing serialized across them
    "lifecycle_10000_ratio_to_ideal": 1.3,
    "lifecycle_rss_growth_ratio": 1.2,  # peak memory at 10,000 credentials ÷ at 1,000
    "lifecycle_once": 1,  # every credential checked once and every e-mail sent once, at both sizes
    "work_items_50000_ado_requests": 6,  # the same calls as 1,000
    "work_items_50000_ratio_to_1000": 1.5,
    # "service_account_calls_100_users": one read per 15-second life of the shared list (see ServiceAccountPressure)
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
    _step(f"service account pressure: {inprocess.PRESSURE_USERS} people without a token open the work item list")
    pressure = inprocess.measure_service_account_pressure(emulator)
    _step(f"the largest projects: the first page of {inprocess.LARGE_ITEMS:,} items")
    inprocess.add_large_project(emulator)
    large = inprocess.measure_large_project(emulator)

    _step("worker memory after the heaviest page (1,000 work items) in both workers")
    bob = sign_in(base, "bob", stack.password)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(lambda _: fetch(f"{base}/work-items/?per_page={inprocess.BENCH_ITEMS}", bob), range(2 * WORKERS)))
    rss = stack.workers_peak_rss_mb()
    peak_rss = max(rss.values())

    _step("two app hosts (one worker each) over the same database and cache: /profile/ requests per second")
    two = hosts.measure(stack, stack.password)
    _step(
        f"check_alm_tokens over {' then '.join(f'{n:,}' for n in lifecycle.SIZES)} credentials "
        f"({lifecycle.LATENCY * 1000:.0f} ms per call, 1 call in {lifecycle.THROTTLE_EVERY} throttled)"
    )
    runs = lifecycle.measure(emulator, env, stack.tmp)

    _step("admin overview at 1,000 then 50,000 people: first page, queries, CSV memory")
    overview = admin_overview.measure(base, stack.password)

    metrics = _metrics(loads, queries, splits, check, items, encryption, peak_rss) + admin_overview.metrics(overview)
    metrics += _scale_metrics(items, pressure, large, two, runs)
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
        "service_account_pressure": {
            "users": inprocess.PRESSURE_USERS, "calls": pressure.calls, "calls_one_read": pressure.calls_one_read,
            "calls_without_shared_list": pressure.calls_without_cache,
            "all_as_service_account": pressure.all_as_service_account, "seconds": round(pressure.seconds, 1),
            "budget": pressure.budget,
        },
        "work_items_50000": {
            "requests": large.requests_by_kind, "render_ms": round(large.render_ms, 1), "status": large.status,
            "page_complete": large.complete, "latency_s": inprocess.WORK_ITEMS_LATENCY,
        },
        "two_hosts": {
            "one_host_rps": round(two.one_rps, 1), "two_hosts_rps": round(two.two_rps, 1),
            "rounds": hosts.ROUNDS, "connections_per_host": hosts.CONNECTIONS,
            "cache": stack.env.get("CACHE_URL", "locmemcache (one per host)").split("://")[0],
        },
        "lifecycle": [
            {
                "credentials": run.credentials, "wall_s": round(run.wall_s, 1), "ideal_s": round(run.ideal_s, 1),
                "calls": run.calls, "throttled": run.throttled, "peak_rss_mb": round(run.peak_rss_mb, 1),
                "checked_once": run.checked_once, "emails": run.emails, "emails_expected": run.emails_expected,
                "emails_once": run.emails_once, "summary": run.summary, "workers": lifecycle.WORKERS,
                "cpu_s": round(run.cpu_s, 1),
            }
            for run in runs
        ],
        "load": f"wrk over keep-alive, {ROUNDS} rounds x ({RUN_SECONDS:g} s -t2 -c8 + {RUN_SECONDS:g} s -c1) per page",
        "server": f"gunicorn config.wsgi, {WORKERS} workers (gthread, 1 thread, --reuse-port)",
        "elapsed_s": round(elapsed, 1),
    }
    context = {
        "machine": f"{platform.machine()}, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "database": stack.database,
        "cache": stack.env.get("CACHE_URL", "locmemcache://").split("://")[0],
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


def _scale_metrics(
    items: inprocess.WorkItems,
    pressure: inprocess.ServiceAccountPressure,
    large: inprocess.WorkItems,
    two: hosts.TwoHosts,
    runs: list[lifecycle.Run],
) -> list[Metric]:
    small, big = runs[0], runs[-1]
    once = all(run.checked_once and run.emails_once for run in runs)
    return [
        Metric(
            "two_hosts_rps_ratio", "/profile/ requests/s, two hosts ÷ one (1 worker each)", two.ratio, "x",
            f"one host {two.one_rps:.0f}/s, two hosts {two.two_rps:.0f}/s",
            BUDGETS["two_hosts_rps_ratio"], at_least=True,
        ),
        Metric(
            "lifecycle_10000_ratio_to_ideal", f"check_alm_tokens, {big.credentials:,} tokens: wall ÷ ideal",
            big.ratio_to_ideal, "x",
            f"{big.wall_s:.0f} s vs {big.ideal_s:.0f} s ({big.credentials:,} checks x "
            f"{lifecycle.LATENCY * 1000:.0f} ms ÷ {lifecycle.WORKERS} at once); {big.calls:,} calls, "
            f"{big.throttled} throttled; the job used {big.cpu_s:.0f} s of CPU",
            BUDGETS["lifecycle_10000_ratio_to_ideal"],
        ),
        Metric(
            "lifecycle_1000_ratio_to_ideal", f"check_alm_tokens, {small.credentials:,} tokens: wall ÷ ideal",
            small.ratio_to_ideal, "x", f"{small.wall_s:.1f} s vs {small.ideal_s:.1f} s, process start included",
        ),
        Metric(
            "lifecycle_peak_rss_mb_1000", f"check_alm_tokens peak RSS, {small.credentials:,} tokens",
            small.peak_rss_mb, " MB", "VmHWM of the job's process",
        ),
        Metric(
            "lifecycle_peak_rss_mb_10000", f"check_alm_tokens peak RSS, {big.credentials:,} tokens",
            big.peak_rss_mb, " MB", "VmHWM of the job's process",
        ),
        Metric(
            "lifecycle_rss_growth_ratio", "check_alm_tokens peak RSS, 10,000 ÷ 1,000 tokens",
            big.peak_rss_mb / small.peak_rss_mb, "x", f"{big.peak_rss_mb:.1f} MB vs {small.peak_rss_mb:.1f} MB",
            BUDGETS["lifecycle_rss_growth_ratio"],
        ),
        Metric(
            "lifecycle_once", "Every token checked once, every e-mail sent once", int(once), "",
            "; ".join(
                f"{run.credentials:,}: {'each checked once' if run.checked_once else 'NOT each checked once'}, "
                f"{run.emails} e-mails for {run.emails_expected} due"
                for run in runs
            ),
            BUDGETS["lifecycle_once"], exact=True,
        ),
        Metric(
            "work_items_50000_ado_requests", "Work items, 50,000 items, first page: calls to Azure DevOps",
            large.ado_requests, "",
            ", ".join(f"{n} {kind}" for kind, n in large.requests_by_kind.items())
            + ("" if large.complete else f"; the page did not list the items (HTTP {large.status})"),
            BUDGETS["work_items_50000_ado_requests"],
        ),
        Metric(
            "work_items_50000_ratio_to_1000", "Work items, first page: 50,000 items ÷ 1,000 (server time)",
            large.render_ms / items.render_ms, "x", f"{large.render_ms:.0f} ms vs {items.render_ms:.0f} ms",
            BUDGETS["work_items_50000_ratio_to_1000"],
        ),
        Metric(
            "service_account_calls_100_users",
            f"Calls to Azure DevOps: {inprocess.PRESSURE_USERS} people without a token open the list",
            pressure.calls, "",
            f"one read {pressure.calls_one_read}, the hundred in {pressure.seconds:.1f} s; without the shared list "
            f"{pressure.calls_without_cache}"
            + ("" if pressure.all_as_service_account else "; NOT all as the service account"),
            pressure.budget,
        ),
    ]


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
