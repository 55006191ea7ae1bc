"""Two app hosts: /profile/ requests per second over two gunicorn hosts ÷ over one, same database and cache.

Each host here has one worker, so one host can use one of this machine's two cores and two hosts both:
about 2x when nothing serializes across hosts (a shared lock, a hot row, the cache); near 1x when
something does. wrk takes the same connections per host in both cases; rounds alternate one and two
hosts, and the figure is the median of per-round ratios.
"""

from __future__ import annotations

import statistics
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.load import WrkRun, fetch, sign_in, wrk
from bench.stack import OUT_DIR, BenchError, Stack

ROUNDS = 5
SECONDS = 1.0
CONNECTIONS = 4


@dataclass(frozen=True)
class TwoHosts:
    one_rps: float
    two_rps: float
    ratio: float
    errors: int


def measure(stack: Stack, password: str) -> TwoHosts:
    a = stack.start_host(workers=1)
    b = stack.start_host(workers=1)
    # Signed in on host A; the session (in the database) is valid on B too.
    cookie = sign_in(a, "alice", password)
    for host in (a, b):
        fetch(f"{host}/profile/", cookie)
    log = OUT_DIR / "wrk-hosts.log"
    log.unlink(missing_ok=True)

    def run(url: str) -> WrkRun:
        return wrk(f"{url}/profile/", cookie, seconds=SECONDS, connections=CONNECTIONS, out=log)

    wrk(f"{a}/profile/", cookie, seconds=SECONDS, connections=CONNECTIONS)  # warm
    ones: list[float] = []
    twos: list[float] = []
    errors = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        for number in range(ROUNDS):
            order = ("one", "two") if number % 2 == 0 else ("two", "one")
            for kind in order:
                runs = [run(a)] if kind == "one" else list(pool.map(run, (a, b)))
                errors += sum(r.errors for r in runs)
                (ones if kind == "one" else twos).append(sum(r.rps for r in runs))
    if errors:
        raise BenchError(f"wrk saw {errors} failed requests over two hosts; see {log}")
    return TwoHosts(
        one_rps=statistics.median(ones),
        two_rps=statistics.median(twos),
        ratio=statistics.median(t / o for t, o in zip(twos, ones, strict=True)),
        errors=errors,
    )
