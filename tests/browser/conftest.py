"""Browser tests: Playwright driving Debian's Chromium against the live server and the emulator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# there are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium tries to reach Google services and this machine refuses each attempt.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def context_options():
    """How `page`'s browser context is made; a module overrides this fixture for another viewport or for HTTPS."""
    return {"viewport": {"width": 1280, "height": 860}}


@pytest.fixture
def page(browser, context_options):
    context = browser.new_context(**context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def shot_of():
    """Save a screenshot of a given page for the README when SCREENSHOTS_DIR is set (`make screenshots`)."""
    target = os.environ.get("SCREENSHOTS_DIR")

    def take(page, name: str, *, full_page: bool = False) -> None:
        if target:
            Path(target).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=full_page)

    return take


@pytest.fixture
def shot(page, shot_of):
    """`shot_of` the test's page."""

    def take(name: str, *, full_page: bool = False) -> None:
        shot_of(page, name, full_page=full_page)

    return take


@pytest.fixture
def sign_in(page, live_server, password):
    def go(username: str) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")

    return go


@pytest.fixture
def axe(page):
    """Run axe-core on the current page: one line per element it finds at fault (none when all is well)."""
    engine = Axe()

    def check() -> list[str]:
        page.wait_for_load_state("networkidle")
        results = engine.run(page)
        return [
            f"{violation['id']} ({violation['impact']}) at {', '.join(map(str, node['target']))}: "
            + "; ".join(check["message"] for check in node["any"] + node["all"] + node["none"])
            for violation in results.response["violations"]
            for node in violation["nodes"]
        ]

    return check
