"""The table, its budgets, and bench/results.json."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"


@dataclass(frozen=True)
class Metric:
    key: str  # the results.json key
    label: str
    value: float
    unit: str  # printed after the value: "x", " ms", " µs", " MB" or ""
    measured: str  # the raw figures behind the value, side by side
    budget: float | None = None  # an upper bound; None: reported, not held
    exact: bool = False  # the value must equal the budget
    at_least: bool = False  # the budget is a lower bound

    @property
    def ok(self) -> bool:
        if self.budget is None:
            return True
        if self.exact:
            return self.value == self.budget
        return self.value >= self.budget if self.at_least else self.value <= self.budget

    def shown(self) -> str:
        if self.unit == "x":
            return f"{self.value:.2f}x"
        if float(self.value).is_integer():
            return f"{int(self.value)}{self.unit}"
        return f"{self.value:.1f}{self.unit}"

    def budget_text(self) -> str:
        if self.budget is None:
            return "—"
        number = f"{self.budget:g}{'x' if self.unit == 'x' else ''}"
        if self.exact:
            return f"= {number}"
        return f"≥ {number}" if self.at_least else f"≤ {number}"

    def verdict(self) -> str:
        if self.budget is None:
            return ""
        return "ok" if self.ok else "FAIL"


def table(metrics: list[Metric]) -> str:
    """A Markdown table: readable in a terminal and pasted as is into the README."""
    rows = [("Metric", "Value", "Budget", "", "Measured")]
    rows += [(m.label, m.shown(), m.budget_text(), m.verdict(), m.measured) for m in metrics]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])


def write_results(metrics: list[Metric], *, context: dict[str, Any], details: dict[str, Any]) -> Path:
    results: dict[str, Any] = {m.key: round(m.value, 3) for m in metrics}
    results.update(context)
    results["cores"] = os.cpu_count()
    results["date"] = datetime.now(tz=UTC).isoformat(timespec="seconds")
    results["budgets_ok"] = all(m.ok for m in metrics)
    results["details"] = details
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return RESULTS
