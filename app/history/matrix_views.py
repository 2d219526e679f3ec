"""A matrix run's description, attached to its ``RunView`` when history is read (for pages and exports)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from app.compare.prompt_sets import render
from app.history.matrix_models import MatrixCellRow, MatrixRunRow

if TYPE_CHECKING:
    from app.history.store import RunView


@dataclass
class MatrixInfo:
    row: MatrixRunRow
    cells: dict[int, tuple[int, int]] = field(default_factory=dict)
    """``run_results.id`` → (prompt row, model column)."""

    @property
    def columns(self) -> list[str]:
        return list(json.loads(self.row.columns or "[]"))

    @property
    def rows(self) -> list[dict[str, str]]:
        return list(json.loads(self.row.rows or "[]"))

    @property
    def models(self) -> list[str]:
        return list(json.loads(self.row.models or "[]"))

    @property
    def options(self) -> dict[str, Any]:
        return dict(json.loads(self.row.options or "{}"))

    @property
    def total_cells(self) -> int:
        return self.row.row_count * self.row.model_count

    def prompt(self, row: int) -> str:
        """The prompt of row ``row`` as it was sent."""
        rows = self.rows
        try:
            return render(self.row.template, rows[row])
        except (IndexError, KeyError):
            return ""

    def cell_dict(self, result_id: int | None) -> dict[str, Any] | None:
        """Which cell a result answers: ``{"row", "model_index", "prompt", "variables"}`` (None if it is not a cell)."""
        cell = self.cells.get(result_id if result_id is not None else -1)
        if cell is None:
            return None
        rows = self.rows
        return {
            "row": cell[0],
            "model_index": cell[1],
            "prompt": self.prompt(cell[0]),
            "variables": rows[cell[0]] if cell[0] < len(rows) else {},
        }

    def to_dict(self) -> dict[str, Any]:
        """The matrix's definition as exported (the cells are the run's results)."""
        return {
            "name": self.row.name,
            "status": self.row.status,
            "template": self.row.template,
            "system_prompt": self.row.system_prompt,
            "variables": self.columns,
            "rows": self.rows,
            "models": self.models,
            "options": self.options,
            "concurrency": self.row.concurrency,
            "budget_usd": self.row.budget_usd,
            "estimate_usd": self.row.estimate_usd,
            "cells": {"total": self.total_cells, "saved": len(self.cells)},
        }


def load_matrix_info(session: Session, run_ids: Sequence[str]) -> dict[str, MatrixInfo]:
    """The matrix runs among ``run_ids``, with their cell map."""
    if not run_ids:
        return {}
    rows = session.exec(select(MatrixRunRow).where(col(MatrixRunRow.run_id).in_(list(run_ids)))).all()
    infos = {row.run_id: MatrixInfo(row) for row in rows}
    if infos:
        cells = session.exec(select(MatrixCellRow).where(col(MatrixCellRow.run_id).in_(list(infos)))).all()
        for cell in cells:
            infos[cell.run_id].cells[cell.result_id] = (cell.row_index, cell.model_index)
    return infos


def attach_matrix(session: Session, views: Sequence[RunView]) -> None:
    """Set ``view.matrix`` on every view that is a matrix run."""
    infos = load_matrix_info(session, [v.run.id for v in views])
    for view in views:
        view.matrix = infos.get(view.run.id)
