"""Two app hosts behind a load balancer: what one host does, the other knows on the very next request."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest
import requests

from tests.helpers import ROOT, demo_identity
from tests.scale.conftest import host_env

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.two_hosts,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("shared_cache"),
]
BANNER = 'id="alm-banner"'


def _sign_in(host, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    page = session.get(f"{host.url}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{host.url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{host.url}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    return session, answer


def _session(host, username: str, password: str) -> requests.Session:
    session, answer = _sign_in(host, username, password)
    assert answer.status_code == HTTPStatus.FOUND
    return session


def _post_credentials(session: requests.Session, host, **data: str) -> requests.Response:
    """Post the ALM Credentials form to `host`, with the CSRF token its page gave."""
    page = session.get(f"{host.url}/profile/alm-credentials/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        f"{host.url}/profile/alm-credentials/",
        data={"csrfmiddlewaretoken": token, **data},
        headers={"Referer": f"{host.url}/profile/alm-credentials/"},
        timeout=30,
    )


def test_token_saved_on_one_host_is_used_by_the_other_on_the_next_request(
    hosts, alice, password, connection, alice_pat, ado
):
    a, b = hosts
    session = _session(a, "alice", password)
    assert BANNER in session.get(f"{b.url}/profile/", timeout=10).text  # signed in on A, known on B
    saved = _post_credentials(session, a, connection=str(connection.pk), token=alice_pat, action="save")
    assert saved.status_code == HTTPStatus.OK
    ado.clear_requests()
    assert BANNER not in session.get(f"{b.url}/profile/", timeout=10).text
    listed = session.get(f"{b.url}/work-items/", timeout=30)
    assert listed.status_code == HTTPStatus.OK
    alice_id = demo_identity(ado, "alice@fabrikam.example")["id"]
    assert [r.identity_id for r in ado.requests if r.path.endswith("/_apis/wit/wiql")] == [alice_id]


def _start_of_a_minute() -> None:
    """The limit counts per clock minute: start the attempts early in one, so all five fall in it."""
    into = time.time() % 60
    if into > 20:
        time.sleep(60 - into)


def test_test_connection_limit_counts_across_hosts(hosts, alice, password, connection, alice_pat):
    a, b = hosts
    session = _session(a, "alice", password)
    _start_of_a_minute()
    answers = [
        _post_credentials(session, host, connection=str(connection.pk), token=alice_pat, action="test").text
        for host in (a, b, a, b, a)
    ]
    limited = [re.search(r"Too many \w+ in a short time", text) is not None for text in answers]
    assert limited == [False, False, False, False, True]  # four allowed a minute (the hosts' setting), in all


def test_login_lockout_counts_failures_on_both_hosts(hosts, alice, password):
    a, b = hosts
    failures = [_sign_in(host, "alice", "wrong-guess")[1].status_code for host in (a, b)]
    assert failures == [HTTPStatus.OK, HTTPStatus.OK]  # the form again, with its error
    _sign_in(a, "alice", "wrong-guess")  # the third failure (the hosts' limit), two hosts together
    _session_b, right_password = _sign_in(b, "alice", password)
    assert right_password.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert _sign_in(a, "alice", password)[1].status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_azure_devops_calls_per_minute_count_across_hosts(hosts, alice, password, connection):
    a, b = hosts
    session = _session(a, "alice", password)
    _start_of_a_minute()
    statuses = [session.get(f"{host.url}/work-items/", timeout=30).status_code for host in (a, b, a, b, a)]
    # Four pages that call Azure DevOps a minute (the hosts' setting), in all.
    assert statuses == [HTTPStatus.OK] * 4 + [HTTPStatus.TOO_MANY_REQUESTS]


def test_daily_check_started_on_both_hosts_at_once_does_the_work_once(alice_credential, ado):
    env = host_env()
    # Slow answers keep the first job running while the second starts.
    ado.set_fault("latency", seconds=2)
    ado.clear_requests()
    command = [sys.executable, "manage.py", "check_alm_tokens"]
    jobs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603
        for _ in range(2)
    ]
    outputs = sorted(job.communicate(timeout=120)[0] for job in jobs)
    assert "Another check_alm_tokens is running" in outputs[0]
    assert "Checked 2 tokens" in outputs[1]
    connection_data = [r for r in ado.requests if r.path.endswith("/_apis/connectionData")]
    assert len(connection_data) == 2  # the service account's token and Alice's, once each


def test_load_spread_over_both_hosts_gives_no_errors(hosts, alice, bob, password, connection, bob_pat):
    from profiles.services import save_credential

    save_credential(user=bob, connection=connection, token=bob_pat)
    a, b = hosts
    sessions = [_session(a, "alice", password), _session(b, "bob", password)]

    def visit(number: int) -> int:
        session = sessions[number % 2]
        host = hosts[number // 2 % 2]
        # Each person's work item pages stay within the hosts' four a minute: a refusal there is the limit.
        path = "/work-items/" if number % 20 in (0, 1) else "/profile/"
        return session.get(f"{host.url}{path}", timeout=30).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(visit, range(80)))
    assert statuses == [HTTPStatus.OK] * 80
