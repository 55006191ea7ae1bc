"""Injected faults and concurrency: the failure paths a client must survive."""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus

import pytest
import requests

PREVIEW = {"api-version": "7.1-preview.1"}
V71 = {"api-version": "7.1"}
CONNECTION_DATA = r"/_apis/connectionData$"


def connection_data(http, org_url, **kwargs):
    return http.get(f"{org_url}/_apis/connectionData", params=PREVIEW, **kwargs)


def test_latency_is_added_to_matching_requests(ado, alice_http, org_url):
    ado.set_fault("latency", seconds=0.3, path=CONNECTION_DATA)
    began = time.monotonic()
    slow = connection_data(alice_http, org_url)
    elapsed = time.monotonic() - began
    began = time.monotonic()
    alice_http.get(f"{org_url}/_apis/projects", params=V71)
    other = time.monotonic() - began
    assert slow.status_code == HTTPStatus.OK
    assert 0.3 <= elapsed < 1.0
    assert other < 0.25


def test_hang_outlasts_a_client_timeout(ado, alice_http, org_url):
    ado.set_fault("hang", seconds=1.0, count=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        connection_data(alice_http, org_url, timeout=0.2)
    # The hung request does not block the next one.
    began = time.monotonic()
    assert connection_data(alice_http, org_url).status_code == HTTPStatus.OK
    assert time.monotonic() - began < 0.5


def test_status_503_has_the_real_stopped_collection_body(ado, alice_http, org_url):
    ado.set_fault("status", status=503)
    response = connection_data(alice_http, org_url)
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.content.startswith("\ufeff".encode())
    body = json.loads(response.content.decode("utf-8-sig"))
    assert body["message"].startswith("TF24668: The following team project collection is stopped: fabrikam.")
    assert body["typeKey"] == "VssServiceException"


def test_status_500_is_a_wrapped_exception(ado, alice_http, org_url):
    ado.set_fault("status", status=500, message="boom")
    response = connection_data(alice_http, org_url)
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert response.json()["message"] == "boom"


def test_throttle_is_429_with_retry_after_and_rate_limit_headers(ado, alice_http, org_url):
    ado.set_fault("throttle", retry_after=7)
    response = connection_data(alice_http, org_url)
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.headers["Retry-After"] == "7"
    for name in ("X-RateLimit-Resource", "X-RateLimit-Delay", "X-RateLimit-Limit", "X-RateLimit-Reset"):
        assert response.headers[name]
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()
    assert response.json()["message"].startswith("TF400733: The request has been canceled")


def test_flag_answers_normally_with_warning_headers(ado, alice_http, org_url, alice_identity):
    ado.set_fault("flag", retry_after=3, remaining=12)
    response = connection_data(alice_http, org_url)
    assert response.status_code == HTTPStatus.OK
    assert response.json()["authenticatedUser"]["id"] == alice_identity.id
    assert response.headers["Retry-After"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "12"
    assert "X-RateLimit-Delay" not in response.headers


@pytest.mark.parametrize(
    ("kind", "raised"),
    [
        # reset: the connection is closed without an answer.
        ("reset", requests.exceptions.ConnectionError),
        # truncated: the answer breaks off while it is read.
        ("truncated", (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)),
    ],
    ids=["reset", "truncated"],
)
def test_broken_answer_fails_the_call_then_the_next_one_is_answered(ado, alice_http, org_url, kind, raised):
    ado.set_fault(kind, count=1)
    with pytest.raises(raised):
        connection_data(alice_http, org_url)
    assert connection_data(alice_http, org_url).status_code == HTTPStatus.OK


def test_malformed_json_is_a_200_that_does_not_parse(ado, alice_http, org_url):
    ado.set_fault("malformed_json")
    response = connection_data(alice_http, org_url)
    assert response.status_code == HTTPStatus.OK
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_sign_in_fault_is_a_203_html_page(ado, alice_http, org_url):
    ado.set_fault("sign_in")
    response = connection_data(alice_http, org_url)
    assert response.status_code == HTTPStatus.NON_AUTHORITATIVE_INFORMATION
    assert response.headers["Content-Type"].startswith("text/html")


def test_count_one_affects_only_the_next_matching_request(ado, alice_http, org_url):
    ado.set_fault("status", status=503, count=1, path=CONNECTION_DATA)
    assert alice_http.get(f"{org_url}/_apis/projects", params=V71).status_code == HTTPStatus.OK
    assert connection_data(alice_http, org_url).status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert connection_data(alice_http, org_url).status_code == HTTPStatus.OK
    assert ado.faults() == []


def test_method_filter(ado, alice_http, org_url):
    ado.set_fault("status", status=500, method="POST")
    assert connection_data(alice_http, org_url).status_code == HTTPStatus.OK
    wiql = alice_http.post(f"{org_url}/_apis/wit/wiql", params=V71, json={"query": "SELECT [System.Id] FROM WorkItems"})
    assert wiql.status_code == HTTPStatus.INTERNAL_SERVER_ERROR


def test_path_regex_matches_the_decoded_path_ignoring_case(ado, alice_http, org_url):
    ado.set_fault("status", status=500, path=r"/fabrikam fiber/_apis/wit/")
    response = alice_http.get(f"{org_url}/Fabrikam%20Fiber/_apis/wit/workitems/1", params=V71)
    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR


def test_clear_faults(ado, alice_http, org_url):
    ado.set_fault("status", status=500)
    ado.clear_faults()
    assert connection_data(alice_http, org_url).status_code == HTTPStatus.OK


def test_unknown_fault_kind_is_refused(ado):
    with pytest.raises(ValueError, match="unknown fault kind"):
        ado.set_fault("gremlins")


def test_faulted_requests_are_logged(ado, alice_http, org_url):
    ado.set_fault("status", status=503, count=1)
    connection_data(alice_http, org_url)
    assert [r.status for r in ado.requests] == [503]


def test_parallel_slow_requests_overlap(ado, http_for, alice_pat, org_url):
    ado.set_fault("latency", seconds=0.3, path=CONNECTION_DATA)
    statuses: list[int] = []

    def call() -> None:
        statuses.append(connection_data(http_for(alice_pat), org_url).status_code)

    threads = [threading.Thread(target=call) for _ in range(2)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    assert statuses == [HTTPStatus.OK, HTTPStatus.OK]
    assert elapsed < 0.59  # serialized would be >= 0.6
    first, second = ado.requests
    assert first.started < second.ended
    assert second.started < first.ended
    assert first.ended - first.started >= 0.3


def test_throttled_answer_names_the_framework_class(ado, alice_http, org_url):
    ado.set_fault("throttle", count=1)
    body = connection_data(alice_http, org_url).json()
    assert body["typeKey"] == "RequestBlockedException"
    assert body["typeName"] == (
        "Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server"
    )
def test_fault_with_every_applies_to_one_matching_request_in_n(ado, alice_http, org_url):
    ado.set_fault("throttle", path="connectionData", every=3, retry_after=1)
    statuses = [alice_http.get(f"{org_url}/_apis/connectionData").status_code for _ in range(7)]
    assert statuses == [200, 200, 429, 200, 200, 429, 200]
