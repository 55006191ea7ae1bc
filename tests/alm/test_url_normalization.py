"""The ALM connection URL: accepted shapes, cleaning, and errors that name the problem."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from alm.connection_urls import normalize_connection_url


def normalize(url: str, kind: str = "services", **flags: bool) -> str:
    return normalize_connection_url(url, kind=kind, **flags)


def error_of(url: str, kind: str = "services", **flags: bool) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        normalize(url, kind, **flags)
    return caught.value


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://dev.azure.com/fabrikam", "https://dev.azure.com/fabrikam"),
        ("https://dev.azure.com/fabrikam/", "https://dev.azure.com/fabrikam"),
        ("  https://DEV.AZURE.COM/fabrikam  ", "https://dev.azure.com/fabrikam"),
        ("https://dev.azure.com/fabrikam/Fabrikam%20Fiber/_workitems/edit/12", "https://dev.azure.com/fabrikam"),
        ("https://dev.azure.com/fabrikam?view=all#top", "https://dev.azure.com/fabrikam"),
        ("https://dev.azure.com:443/fabrikam", "https://dev.azure.com/fabrikam"),
        ("dev.azure.com/fabrikam", "https://dev.azure.com/fabrikam"),
        ("https://fabrikam.visualstudio.com", "https://fabrikam.visualstudio.com"),
        ("https://fabrikam.visualstudio.com/DefaultCollection/Project/_git/repo", "https://fabrikam.visualstudio.com"),
        ("https://Fabrikam.VisualStudio.com/", "https://fabrikam.visualstudio.com"),
    ],
)
def test_services_urls_are_cleaned_to_the_organization(given, expected):
    assert normalize(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://tfs.fabrikam.example/tfs/DefaultCollection", "https://tfs.fabrikam.example/tfs/DefaultCollection"),
        ("https://tfs.fabrikam.example/tfs/DefaultCollection/", "https://tfs.fabrikam.example/tfs/DefaultCollection"),
        (
            "https://tfs.fabrikam.example:8443/tfs/DefaultCollection/Fabrikam%20Fiber/_workitems?x=1",
            "https://tfs.fabrikam.example:8443/tfs/DefaultCollection",
        ),
        ("https://ado.fabrikam.example/DefaultCollection", "https://ado.fabrikam.example/DefaultCollection"),
        (
            "https://ado.fabrikam.example/DefaultCollection/_apis/projects",
            "https://ado.fabrikam.example/DefaultCollection",
        ),
        ("https://ado.fabrikam.example/devops/Main", "https://ado.fabrikam.example/devops/Main"),
        ("https://ado.fabrikam.example:443/Main", "https://ado.fabrikam.example/Main"),
    ],
)
def test_server_urls_keep_virtual_directory_and_collection(given, expected):
    assert normalize(given, "server") == expected


def test_http_refused_for_services():
    assert error_of("http://dev.azure.com/fabrikam").code == "insecure"


def test_http_refused_for_server_by_default():
    error = error_of("http://tfs.fabrikam.example/tfs/DefaultCollection", "server")
    assert error.code == "insecure"
    assert "ALM_ALLOW_INSECURE_SERVER_URLS" in error.message


def test_http_allowed_for_server_when_setting_allows():
    url = "http://tfs.fabrikam.example:8080/tfs/DefaultCollection"
    assert normalize(url, "server", allow_insecure_server=True) == url


def test_insecure_server_setting_does_not_allow_http_for_services():
    assert error_of("http://dev.azure.com/fabrikam", allow_insecure_server=True).code == "insecure"


def test_loopback_http_allowed_only_when_enabled():
    assert normalize("http://127.0.0.1:8765/fabrikam/", allow_loopback_http=True) == "http://127.0.0.1:8765/fabrikam"
    assert error_of("http://127.0.0.1:8765/fabrikam").code == "loopback"


def test_loopback_server_collection_kept():
    url = "http://localhost:8765/tfs/DefaultCollection/_apis"
    assert normalize(url, "server", allow_loopback_http=True) == "http://localhost:8765/tfs/DefaultCollection"


@pytest.mark.parametrize(
    ("url", "kind", "code", "words"),
    [
        ("", "services", "required", "Enter"),
        ("https://dev.azure.com/", "services", "organization", "organization name"),
        ("https://dev.azure.com/_apis/projects", "services", "organization", "organization name"),
        ("https://dev.azure.com/fab_rikam", "services", "organization", "not an organization name"),
        ("ftp://dev.azure.com/fabrikam", "services", "scheme", "https://"),
        ("https://dev.azure.com/fab rikam", "services", "spaces", "spaces"),
        ("https://dev.azure.com:8080/fabrikam", "services", "port", "port"),
        ("https://tfs.fabrikam.example:99999/tfs/x", "server", "port", "port"),
        ("https://tfs.fabrikam.example/tfs/DefaultCollection", "services", "not_services", "Azure DevOps Server"),
        ("https://dev.azure.com/fabrikam", "server", "not_server", "Azure DevOps Services"),
        ("https://tfs.fabrikam.example/", "server", "collection", "collection"),
        ("https://tfs.fabrikam.example/tfs", "server", "collection", "collection"),
        ("https://tfs.fabrikam.example/a/b/c", "server", "collection", "remove the project"),
        ("https://app.vssps.visualstudio.com", "services", "organization", "visualstudio.com"),
    ],
)
def test_invalid_urls_name_what_is_wrong(url, kind, code, words):
    error = error_of(url, kind)
    assert error.code == code
    assert words in error.message % (error.params or {})


def test_credentials_in_url_refused_without_echoing_them():
    error = error_of("https://user:s3cr3t-pat@dev.azure.com/fabrikam")
    assert error.code == "credentials"
    assert "s3cr3t-pat" not in str(error)
