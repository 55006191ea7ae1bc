"""Load over HTTP: signing in with the real form, and wrk over keep-alive connections."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bench.stack import BenchError

WRK_THREADS = 2
WRK_CONNECTIONS = 8
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    median_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Round:
    """One page measured twice back to back: throughput under load, then latency one request at a time."""

    load: WrkRun  # -c8: both workers busy
    single: WrkRun  # -c1: no queueing, so the median is the page's own time, whatever the connection spread


def median_ratio(numerators: list[float], denominators: list[float]) -> float:
    """The median of per-round ratios: each round's pages ran seconds apart, so a machine that is
    twice as fast a minute later (a shared VM) moves both sides of a ratio alike."""
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def ensure_wrk() -> str:
    """wrk's path; installs the Debian package when it is missing (apt-get needs root: sudo otherwise)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing the Debian package", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([*sudo, "apt-get", "update", "-qq"], [*sudo, "apt-get", "install", "-y", "-qq", "wrk"]):
        subprocess.run(command, env=env, check=True, timeout=240)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("wrk is still missing after apt-get install wrk")
    return found


def sign_in(base_url: str, username: str, password: str) -> str:
    """Sign in through the login form (CSRF and all); the Cookie header value of the new session."""
    with requests.Session() as session:
        page = session.get(f"{base_url}/accounts/login/", timeout=10)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status_code != 200 or match is None:
            raise BenchError(f"the login page answered {page.status_code} without a CSRF token")
        answer = session.post(
            f"{base_url}/accounts/login/",
            data={"username": username, "password": password, "csrfmiddlewaretoken": match.group(1)},
            allow_redirects=False,
            timeout=30,
        )
        sessionid = session.cookies.get("sessionid")
        if answer.status_code != 302 or not sessionid:
            raise BenchError(f"signing in as {username} failed (HTTP {answer.status_code})")
        return f"sessionid={sessionid}"


def fetch(url: str, cookie: str) -> str:
    """One GET as the signed-in user; the page, after checking it is the page (not a redirect to login)."""
    answer = requests.get(url, headers={"Cookie": cookie}, allow_redirects=False, timeout=30)
    if answer.status_code != 200:
        # wrk counts 3xx as success, so a lost session would otherwise benchmark the login redirect.
        raise BenchError(f"GET {url} answered {answer.status_code}, not 200")
    return answer.text


def wrk(
    url: str, cookie: str, *, seconds: float, connections: int = WRK_CONNECTIONS, out: Path | None = None
) -> WrkRun:
    threads = min(WRK_THREADS, connections)
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
        "-H", f"Cookie: {cookie}", url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed on {url}: {done.stderr.strip()}")
    if out is not None:
        # The raw report, minus the command line: it would carry the session cookie.
        with out.open("a") as log:
            log.write(f"== {urlsplit(url).path} -c{connections}\n{done.stdout}\n")
    return parse_wrk(done.stdout)


def parse_wrk(text: str) -> WrkRun:
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", text)
    median = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    if total is None or median is None:
        raise BenchError(f"could not read wrk's report:\n{text}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s*(\d+)", text))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if socket_errors:
        # A read error is how wrk reports a server closing an idle keep-alive connection; count the rest.
        errors += int(socket_errors.group(1)) + int(socket_errors.group(3)) + int(socket_errors.group(4))
    return WrkRun(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS[total.group(3)] / 1000,
        median_ms=float(median.group(1)) * _UNITS[median.group(2)],
        errors=errors,
    )
