"""At phone width (390 px) the banner and the work items list read without sideways scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def context_options():
    """Every page of this module is a phone's, 390 px wide."""
    return {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_banner_buttons_sit_under_the_text_at_phone_width(page, sign_in, alice, connection, shot_of):
    sign_in("alice")
    text = page.locator("#alm-banner .banner-text").bounding_box()
    buttons = page.locator("#alm-banner .banner-actions").bounding_box()
    assert buttons["y"] >= text["y"] + text["height"]  # below, not beside
    assert text["width"] >= 280  # not squeezed into a narrow column
    assert buttons["x"] + buttons["width"] <= PHONE["width"]
    _no_sideways_scroll(page)
    shot_of(page, "phone-banner")


def test_work_items_show_every_field_within_phone_width(page, sign_in, alice, alice_credential, shot_of):
    sign_in("alice")
    page.goto(page.url + "work-items/")
    rows = page.locator("table.grid tbody tr")
    expect(rows.first).to_be_visible()
    first = rows.first
    for label in ("ID", "Type", "Title", "State", "Assigned to", "Changed by", "Changed"):
        cell = first.locator(f'td[data-label="{label}"]')
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"], label
    # One field per line: "Changed by" sits under "Assigned to", not beside it.
    assigned = first.locator('td[data-label="Assigned to"]').bounding_box()
    changed_by = first.locator('td[data-label="Changed by"]').bounding_box()
    assert changed_by["y"] >= assigned["y"] + assigned["height"]
    _no_sideways_scroll(page)
    shot_of(page, "phone-work-items")
