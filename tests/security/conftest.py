"""The security suite: fresh service locations per test, and PostgreSQL-only tests skipped on SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alm.client import forget_resource_areas


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres_only` need row locks and real concurrency: skipped when the run is on SQLite.

    CI runs the suite a second time with DATABASE_URL=postgres://..., where they run.
    """
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    needs_postgres = pytest.mark.skipif(
        engine != "django.db.backends.postgresql",
        reason=f"PostgreSQL only (row locks, real concurrency), this run is on {engine.rsplit('.', 1)[-1]}; "
        "run with DATABASE_URL=postgres://... (CI does)",
    )
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(needs_postgres)


@pytest.fixture(autouse=True)
def _fresh_service_locations() -> Iterator[None]:
    # Service locations are remembered per process; each test discovers them against its own faults.
    forget_resource_areas()
    yield
    forget_resource_areas()
