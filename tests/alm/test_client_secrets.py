"""The token never shows: not in exception text, repr, args or chained causes, nor in any log record."""

from __future__ import annotations

import base64
import logging
import traceback

import pytest

from alm.check import check_token
from alm.exceptions import AdoError
from tests.alm.conftest import ALL_SCOPES, PROJECT
from tests.security.support import closed_port


def forms_of(token: str) -> list[str]:
    return [
        token,
        base64.b64encode(f":{token}".encode()).decode(),
        base64.b64encode(token.encode()).decode(),
    ]


def every_text_of(error: BaseException) -> str:
    parts = ["".join(traceback.format_exception(error))]
    link: BaseException | None = error
    while link is not None:
        parts += [str(link), repr(link), repr(link.args), repr(vars(link))]
        link = link.__cause__ or link.__context__
    return "\n".join(parts)


def failures(ado, make_client, token: str) -> list[AdoError]:
    """One of each failure class, all with the same token."""
    url = ado.org_url("fabrikam")
    cases = [
        lambda: make_client(token).get_work_item(987654, project=PROJECT),
        lambda: make_client(token, url=f"http://127.0.0.1:{closed_port()}/fabrikam").connection_data(),
        lambda: make_client(token, url="http://nonexistent.invalid/fabrikam").connection_data(),
        lambda: make_client(token, url=url.replace("http://", "https://")).connection_data(),
    ]
    for kind, params in [
        ("status", {"status": 500}),
        ("throttle", {"retry_after": 60}),
        ("reset", {}),
        ("malformed_json", {}),
        ("truncated", {}),
        ("sign_in", {}),
        ("hang", {"seconds": 1}),
    ]:

        def case(kind=kind, params=params):
            ado.clear_faults()
            ado.set_fault(kind, path="connectionData", **params)
            return make_client(token, timeout=0.3).connection_data()

        cases.append(case)
    errors = []
    for case in cases:
        with pytest.raises(AdoError) as caught:
            case()
        errors.append(caught.value)
    ado.clear_faults()
    return errors


def test_token_absent_from_every_exception(ado, make_client, carol):
    token = ado.issue_pat(carol, scopes=ALL_SCOPES)
    narrow = ado.issue_pat(carol, scopes="vso.profile", display_name="narrow")
    errors = failures(ado, make_client, token)
    with pytest.raises(AdoError) as missing:
        make_client(narrow).update_work_item(1, rev=1, fields={"System.Title": "x"}, project=PROJECT)
    errors.append(missing.value)
    ado.revoke_pat(token)
    with pytest.raises(AdoError) as revoked:
        make_client(token).connection_data()
    errors.append(revoked.value)

    codes = {error.code for error in errors}
    assert codes >= {
        "not_found",
        "unreachable",
        "service_failing",
        "throttled",
        "unexpected_answer",
        "token_rejected",
        "timeout",
        "permission_missing",
    }
    for error in errors:
        text = every_text_of(error)
        for secret in forms_of(token) + forms_of(narrow):
            assert secret not in text, error.code


def test_token_absent_from_debug_logs(ado, make_client, service_token, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "requests", "alm", "alm.client"):
        caplog.set_level(logging.DEBUG, logger=name)

    client = make_client(service_token)
    check_token(client, project=PROJECT)
    client.update_work_item(2, rev=client.get_work_item(2, project=PROJECT).rev, fields={"System.Title": "y"})
    failures(ado, make_client, service_token)

    assert any(record.name.startswith("urllib3") for record in caplog.records)
    assert any(record.name == "alm.client" for record in caplog.records)
    for record in caplog.records:
        text = f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for secret in forms_of(service_token):
            assert secret not in text, record.name


def test_server_text_echoing_the_token_is_scrubbed(ado, make_client, service_token):
    ado.set_fault("status", path="connectionData", status=500, message=f"bad header Basic {forms_of(service_token)[1]}")

    with pytest.raises(AdoError) as caught:
        make_client(service_token).connection_data()

    assert "<redacted>" in caught.value.message
    for secret in forms_of(service_token):
        assert secret not in every_text_of(caught.value)
