"""The admin's connection list and audit list fit a 1,280 px wide window: no column cut off."""

from __future__ import annotations

import pytest
from django.utils import timezone

from workitems.models import AuditRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTH = 1280


def _fits(page) -> None:
    page.wait_for_load_state("networkidle")
    table = page.locator("#result_list")
    box = table.bounding_box()
    last = page.locator("#result_list thead th").last.bounding_box()
    assert box["x"] + box["width"] <= WIDTH
    assert last["x"] + last["width"] <= WIDTH
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    # The admin wraps the table in a scrolling box: nothing may hide in it either.
    assert page.evaluate("[...document.querySelectorAll('.results')].every(e => e.scrollWidth <= e.clientWidth)")


def test_connection_and_audit_lists_fit_1280_px(
    page, live_server, sign_in, django_user_model, password, connection, alice
):
    django_user_model.objects.create_superuser("root", "root@fabrikam.example", password)
    for number in range(3):
        AuditRecord.objects.create(
            created_at=timezone.now(),
            user=alice,
            connection=connection,
            work_item_id=1000 + number,
            action="update",
            outcome="success",
            actor_kind="service_account",
            ado_identity="almlink service account (almlink-svc@fabrikam.example)",
            detail="",
        )
    page.set_viewport_size({"width": WIDTH, "height": 860})
    sign_in("root")
    page.goto(f"{live_server.url}/admin/workitems/auditrecord/")
    _fits(page)
    page.goto(f"{live_server.url}/admin/alm/almconnection/")
    _fits(page)
    page.goto(f"{live_server.url}/admin/workitems/auditrecord/")
    _fits(page)
