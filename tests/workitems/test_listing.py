"""The work item list pages a project of any size: keyset paging on System.Id, under WIQL's 20,000 limit."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from tests.helpers import text_of

pytestmark = pytest.mark.django_db

TASKS = 24_990
BUGS = 10


@pytest.fixture
def huge_project(ado, connection):
    """25,000 items, ids in creation order: 24,990 Tasks, then 10 Bugs."""
    loader = ado.add_identity(org="fabrikam", display_name="Loader", email="loader@fabrikam.example")
    ado.add_project("fabrikam", "Huge")
    tasks = ado.add_many_work_items("fabrikam", "Huge", TASKS, type="Task", title="Task {n}", by=loader)
    bugs = ado.add_many_work_items("fabrikam", "Huge", BUGS, type="Bug", title="Bug {n}", by=loader)
    connection.default_project = "Huge"
    connection.save()
    return tasks + bugs


def _ids_shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<tr>\s*<td[^>]*>(\d+)</td>", html)]


def _cursor(html: str, name: str) -> int | None:
    found = re.search(rf'href="\?[^"]*{name}=(\d+)"', html)
    return int(found.group(1)) if found else None


def test_project_over_the_wiql_limit_lists_its_newest_page_in_six_calls(
    alice_client, alice_credential, ado, huge_project
):
    ado.clear_requests()
    response = alice_client.get(reverse("work_items"), {"per_page": 1000})
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert _ids_shown(html) == list(range(huge_project[-1], huge_project[-1] - 1000, -1))
    assert "1000 work items on this page, newest first" in text_of(html)
    queries = [r for r in ado.requests if r.path.endswith("/wiql")]
    assert [(q.status, q.query.get("$top")) for q in queries] == [(HTTPStatus.OK, "1001")]
    reads = [r for r in ado.requests if r.path.endswith("/workitems")]
    assert len(reads) == 5
    assert len(ado.requests) == 6
    assert _cursor(html, "after") is None


def test_older_and_newer_links_walk_the_whole_project(alice_client, alice_credential, ado, huge_project):
    first = alice_client.get(reverse("work_items"), {"per_page": 1000}).content.decode()
    before = _cursor(first, "before")
    second = alice_client.get(reverse("work_items"), {"per_page": 1000, "before": before}).content.decode()
    assert _ids_shown(second) == list(range(before - 1, before - 1001, -1))
    back = alice_client.get(
        reverse("work_items"), {"per_page": 1000, "after": _cursor(second, "after")}
    ).content.decode()
    assert _ids_shown(back) == _ids_shown(first)
    assert _cursor(back, "after") is None
    oldest = huge_project[:1000]
    last = alice_client.get(reverse("work_items"), {"per_page": 1000, "before": oldest[-1] + 1}).content.decode()
    assert _ids_shown(last) == oldest[::-1]
    assert _cursor(last, "before") is None
    assert _cursor(last, "after") == oldest[-1]


def test_every_item_of_a_huge_project_is_reachable_exactly_once(alice_client, alice_credential, huge_project):
    seen: list[int] = []
    params: dict[str, int] = {"per_page": 1000}
    for _page in range(30):
        html = alice_client.get(reverse("work_items"), params).content.decode()
        seen += _ids_shown(html)
        older = _cursor(html, "before")
        if older is None:
            break
        params = {"per_page": 1000, "before": older}
    assert seen == sorted(huge_project, reverse=True)


def test_filter_on_a_huge_project_finds_the_few_matching_items(alice_client, alice_credential, huge_project):
    html = alice_client.get(reverse("work_items"), {"type": "Bug"}).content.decode()
    assert _ids_shown(html) == sorted(huge_project[-BUGS:], reverse=True)
    assert "10 work items, newest first" in text_of(html)
    assert 'class="pager"' not in html
