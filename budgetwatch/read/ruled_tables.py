"""pdfplumber's table finder with its search for cells indexed: the same tables, found in a fraction of the time.

pdfplumber finds the cell at each intersection of rules by scanning every later intersection for those in its row and
column, and it builds the sets of rules through two points anew for each pair it tests: on a ruled page of a real
report that search took about a third of finding the tables. Here each intersection's rules are made a set once and its
row and column are looked up; the candidates are tried in the same order, so the cells, and the tables made of them,
are pdfplumber's (`tests/test_pdfium_page.py` compares them on the real reports).
"""

from __future__ import annotations

from pdfplumber import utils
from pdfplumber.table import Table, TableFinder, TableSettings, cells_to_tables, edges_to_intersections

Point = tuple[float, float]
Box = tuple[float, float, float, float]


class _Finder(TableFinder):
    """pdfplumber's TableFinder, its cells found by `intersections_to_cells` below."""

    def __init__(self, page, settings) -> None:
        self.page = page
        self.settings = TableSettings.resolve(settings)
        self.edges = self.get_edges()
        self.intersections = edges_to_intersections(
            self.edges, self.settings.intersection_x_tolerance, self.settings.intersection_y_tolerance
        )
        self.cells = intersections_to_cells(self.intersections)
        self.tables = [Table(self.page, group) for group in cells_to_tables(self.cells)]


def find_tables(page, settings: dict) -> list[Table]:
    """What `page.find_tables(table_settings=settings)` returns."""
    return _Finder(page, settings).tables


def intersections_to_cells(intersections: dict[Point, dict[str, list[dict]]]) -> list[Box]:
    """pdfplumber's `intersections_to_cells`: for each intersection in sorted order, the first cell (going down its
    column, then along its row) whose four corners are joined by rules."""
    vertical = {p: {utils.obj_to_bbox(e) for e in edges["v"]} for p, edges in intersections.items()}
    horizontal = {p: {utils.obj_to_bbox(e) for e in edges["h"]} for p, edges in intersections.items()}

    def connects(p1: Point, p2: Point) -> bool:
        return (p1[0] == p2[0] and not vertical[p1].isdisjoint(vertical[p2])) or (
            p1[1] == p2[1] and not horizontal[p1].isdisjoint(horizontal[p2])
        )

    points = sorted(intersections)
    columns: dict[float, list[Point]] = {}
    rows: dict[float, list[Point]] = {}
    for p in points:  # each column top to bottom, each row left to right: the sorted order of the points in it
        columns.setdefault(p[0], []).append(p)
        rows.setdefault(p[1], []).append(p)
    in_column = {p: k for column in columns.values() for k, p in enumerate(column)}
    in_row = {p: k for row in rows.values() for k, p in enumerate(row)}
    cells = []
    for pt in points:
        below = columns[pt[0]][in_column[pt] + 1 :]
        right = rows[pt[1]][in_row[pt] + 1 :]
        cell = _smallest_cell(pt, below, right, intersections, connects)
        if cell:
            cells.append(cell)
    return cells


def _smallest_cell(pt: Point, below: list[Point], right: list[Point], intersections, connects) -> Box | None:
    for below_pt in below:
        if not connects(pt, below_pt):
            continue
        for right_pt in right:
            if not connects(pt, right_pt):
                continue
            corner = (right_pt[0], below_pt[1])
            if corner in intersections and connects(corner, right_pt) and connects(corner, below_pt):
                return (pt[0], pt[1], corner[0], corner[1])
    return None
