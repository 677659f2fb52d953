"""Every identity of a compiled plan, evaluated over the line items of many documents at once.

Each line item is a (document, kind) cell. Per document the values of each kind are summed into a dense documents ×
kinds matrix, and every comparison of the plan is a signed sum of a few of its columns: one gather and one segmented
sum for all rules together, in exact int64. Row identities (columns_sum) are summed over the contiguous run of each
row's cells. Only the comparisons that fail, or whose checked cell is printed twice, are then described cell by cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import reduce

import numpy as np
import polars as pl

from budgetwatch import catalogue
from budgetwatch.identity_plan import TOTAL, Plan, compile_plan, kind_columns
from budgetwatch.rules import Rule

COMPARISON_COLUMNS: dict[str, pl.DataType] = {
    "sha256": pl.String(),
    "check_id": pl.String(),
    "table_id": pl.String(),
    "instance": pl.String(),
    "side": pl.String(),
    "row_label": pl.String(),
    "code": pl.String(),
    "column": pl.String(),
    "line": pl.Int32(),
    "actual": pl.Int64(),
    "expected": pl.Int64(),
    "difference": pl.Int64(),
    "tolerance": pl.Int64(),
    "n_values": pl.Int32(),
    "decimals": pl.Int8(),
    "other": pl.String(),  # where the expected value comes from, readable
    "actual_blank": pl.Boolean(),  # the checked cell itself is blank (a total left unprinted)
    # a failing comparison's other printed cells, as rows of the line items given (the checked cell is the row itself)
    "cells": pl.List(pl.Int64()),
}
INVOLVED = {"cand": pl.Int64, "item": pl.Int64, "checked": pl.Boolean, "sign": pl.Int8, "ref": pl.Int16}
KIND_SUMS = ("rows_sum", "hierarchy", "equal", "cross_rows")
EACH_CHECKED = ("rows_sum", "hierarchy")  # a checked cell printed twice is compared twice, not summed
DOCUMENT_CHUNK = 512  # documents per gather: bounds the temporary documents × members matrices
_FIELD = 16  # bits per packed count


@dataclass(frozen=True, slots=True)
class Cells:
    """The line items of a batch as arrays, and per (document, kind) their count, printed count and summed value."""

    items: pl.DataFrame  # what descriptions need of each item, in item order
    names: pl.Series  # sha256 of each document number
    kinds: pl.DataFrame
    doc: np.ndarray
    kind: np.ndarray
    order: np.ndarray  # the row of each item in the frame as given
    value: np.ndarray
    present: np.ndarray
    decimals: np.ndarray
    line: np.ndarray
    row_order: np.ndarray
    count: np.ndarray  # kinds × documents: items
    printed: np.ndarray  # kinds × documents: items with a printed value
    tally: np.ndarray | None  # count + printed << 16, where both fit
    total: np.ndarray
    first: np.ndarray  # the first item of each (document, kind), -1 where none
    repeated: pl.DataFrame  # (flat, item) of every item whose (document, kind) holds more than one


def _in_document_order(items: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, pl.Series, np.ndarray]:
    """Number the documents; their items are contiguous as extracted, and sorted here (stably) when they are not."""
    sha = items.get_column("sha256")
    doc = sha.rle_id().to_numpy().astype(np.int64)
    starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
    names = sha.gather(starts)
    if names.n_unique() == names.len():
        return items, doc, names, np.arange(items.height, dtype=np.int64)
    order = items.select(pl.arg_sort_by("sha256", maintain_order=True)).to_series().to_numpy().astype(np.int64)
    items = items[order]
    doc = items.get_column("sha256").rle_id().to_numpy().astype(np.int64)
    starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
    return items, doc, items.get_column("sha256").gather(starts), order


def _kinds(items: pl.DataFrame) -> tuple[np.ndarray, pl.DataFrame]:
    """The kind number of each item, and the distinct kinds numbered in order of first appearance."""
    attrs = items.select(kind_columns(items))
    # a 64-bit hash of the attributes (each column hashed with its own seed, then combined): kinds number in the
    # hundreds, so a collision (about n²/2⁶⁵) is not a concern; hashing column by column is twice as fast as by row
    hashes = [pl.col(name).hash(seed=k + 1) for k, name in enumerate(attrs.columns)]
    hashed = attrs.select(reduce(lambda a, b: a.xor(b), hashes).alias("h")).get_column("h")
    first = hashed.is_first_distinct()
    kinds = attrs.filter(first).with_columns(hashed.filter(first).alias("h")).with_row_index("kind")
    kind = (
        hashed.to_frame()
        .join(kinds.select("h", "kind"), on="h", how="left", maintain_order="left")
        .get_column("kind")
        .to_numpy()
        .astype(np.int64)
    )
    return kind, kinds.drop("h")


def cells(items: pl.DataFrame) -> Cells:
    """The batch as arrays, with kinds × documents matrices (a kind's row is contiguous: gathers copy whole rows)."""
    items, doc, names, order = _in_document_order(items)
    kind, kinds = _kinds(items)
    nd, nk = names.len(), kinds.height
    value = items.get_column("micros").fill_null(0).to_numpy().astype(np.int64)
    present = ~items.get_column("blank").to_numpy().astype(bool)
    decimals = items.get_column("decimals").fill_null(2).to_numpy().astype(np.int64)
    flat = kind * nd + doc
    count = np.bincount(flat, minlength=nk * nd)
    printed = np.bincount(flat[present], minlength=nk * nd)
    total = np.zeros(nk * nd, np.int64)
    first = np.full(nk * nd, -1, np.int64)
    index = np.arange(flat.size, dtype=np.int64)
    single = count[flat] == 1
    total[flat[single]] = value[single]
    first[flat[single]] = index[single]
    repeated = pl.DataFrame({"flat": flat[~single], "item": index[~single]})
    if repeated.height:
        np.add.at(total, flat[~single], value[~single])
        first[flat[~single]] = np.iinfo(np.int64).max
        np.minimum.at(first, flat[~single], index[~single])
    return Cells(
        items=items.select("table_id", pl.col("instance").fill_null(""), "label", "code", "column_key", "line"),
        names=names,
        kinds=kinds,
        doc=doc,
        kind=kind,
        order=order,
        value=value,
        present=present,
        decimals=decimals,
        line=items.get_column("line").fill_null(-1).to_numpy().astype(np.int64),
        row_order=items.get_column("row_order").fill_null(0).to_numpy().astype(np.int64),
        count=count.reshape(nk, nd),
        printed=printed.reshape(nk, nd),
        tally=(count + (printed << _FIELD)).reshape(nk, nd) if count.max(initial=0) < (1 << (_FIELD - 1)) else None,
        total=total.reshape(nk, nd),
        first=first.reshape(nk, nd),
        repeated=repeated,
    )


_PLANS: dict[tuple, Plan] = {}


def _plan(kinds: pl.DataFrame, rules: Sequence[Rule]) -> Plan:
    """The compiled plan, reused while batches bring the same kinds (as batches of one template do)."""
    key = (tuple(kinds.iter_rows()), tuple(r.id for r in rules))
    if key not in _PLANS:
        if len(_PLANS) >= 16:
            _PLANS.pop(next(iter(_PLANS)))
        _PLANS[key] = compile_plan(kinds, rules)
    return _PLANS[key]


# ---------------------------------------------------------------------------------------------------- documents


@dataclass(frozen=True, slots=True)
class Documents:
    """Facts about each document of the batch that decide whether a comparison applies there."""

    status: Callable[[str, Sequence[str]], np.ndarray]  # (table, statuses) → bool per document
    condition: dict[str, np.ndarray]
    unplaced: pl.DataFrame  # (doc, table_id, instance, column): a merged source column, sums down it are unsure


def documents(c: Cells, tables: pl.DataFrame, conditions: dict[str, pl.Series]) -> Documents:
    numbered = pl.DataFrame({"sha256": c.names, "doc": np.arange(c.names.len())})
    held = tables.select("sha256", "table_id", "status").join(numbered, on="sha256")
    where: dict[tuple[str, str], np.ndarray] = {}
    for (table, state), group in held.partition_by("table_id", "status", as_dict=True).items():
        mask = np.zeros(c.names.len(), bool)
        mask[group.get_column("doc").to_numpy()] = True
        where[(table, state)] = mask
    nowhere = np.zeros(c.names.len(), bool)

    def status(table: str, statuses: Sequence[str]) -> np.ndarray:
        return np.logical_or.reduce([where.get((table, s), nowhere) for s in statuses])

    merged_kinds = c.kinds.filter(pl.col("column_key").str.contains("|", literal=True)).get_column("kind").to_numpy()
    at = np.flatnonzero(np.isin(c.kind, merged_kinds)) if merged_kinds.size else np.zeros(0, np.int64)
    unplaced = (
        pl.DataFrame({"doc": c.doc[at], "kind": c.kind[at].astype(np.uint32)})
        .join(c.kinds.select("kind", "table_id", "instance", "column_key"), on="kind")
        .select("doc", "table_id", "instance", pl.col("column_key").str.split("|").alias("column"))
        .explode("column")
        .unique()
    )
    condition = {name: c.names.is_in(docs.cast(pl.String).implode()).to_numpy() for name, docs in conditions.items()}
    return Documents(status=status, condition=condition, unplaced=unplaced)


def _blocked(plan: Plan, docs: Documents, nd: int, local: np.ndarray) -> np.ndarray:
    """documents × comparisons: sums down a column the source merged somewhere (rows_sum, hierarchy)."""
    out = np.zeros((local.size, nd), bool)
    if docs.unplaced.is_empty():
        return out
    comps = plan.comparisons.filter(pl.col("relation").is_in(EACH_CHECKED)).select(
        "comp", "table_id", "instance", "column"
    )
    hit = docs.unplaced.join(comps, on=["table_id", "instance", "column"])
    position = np.full(plan.comparisons.height, -1, np.int64)
    position[local] = np.arange(local.size)
    d, j = hit.get_column("doc").to_numpy(), position[hit.get_column("comp").to_numpy()]
    out[j[j >= 0], d[j >= 0]] = True
    return out


# ---------------------------------------------------------------------------------------------------- kind sums


def _segment_sums(matrix: np.ndarray, columns: np.ndarray, weights: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.add.reduceat(matrix[:, columns] * weights, starts, axis=1)


def kind_sums(c: Cells, plan: Plan, docs: Documents, rules: Sequence[Rule]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Comparisons of rows_sum, hierarchy, equal and cross_rows: every (document, comparison) that applies.

    Returns the passing ones (with their values) and the candidates to describe: failing, or a checked cell repeated.
    """
    meta = plan.comparisons
    m = plan.members
    m = m.filter(pl.col("comp").is_in(meta.filter(pl.col("relation").is_in(KIND_SUMS)).get_column("comp").implode()))
    nd = c.count.shape[1]
    if m.is_empty() or nd == 0:
        return _no_entries(), _no_entries()
    comp = m.get_column("comp").to_numpy().astype(np.int64)
    kind = m.get_column("kind").to_numpy().astype(np.int64)
    checked = m.get_column("checked").to_numpy()
    sign = m.get_column("sign").to_numpy().astype(np.int64)
    local = np.unique(comp)  # the comparisons, in order; row j of every result below is local[j]
    row_of = np.searchsorted(local, comp)
    # each role summed over its own members (no multiplications): the checked cells, the parts added, those taken away
    groups = {
        name: _Segments.of(row_of[mask], kind[mask])
        for name, mask in (("checked", checked), ("added", ~checked & (sign > 0)), ("taken", ~checked & (sign < 0)))
    }
    parts = _Segments.of(row_of[~checked], kind[~checked])
    longest = max(int(np.bincount(row_of[checked]).max(initial=0)), int(np.bincount(row_of[~checked]).max(initial=0)))
    packable = c.tally is not None and int(c.count.max(initial=0)) * longest < (1 << (_FIELD - 1))
    actual = np.zeros((local.size, nd), np.int64)
    expected = np.zeros((local.size, nd), np.int64)
    counts = np.zeros((4, local.size, nd), np.int64)  # checked rows, checked printed, part rows, part printed
    for lo in range(0, nd, DOCUMENT_CHUNK):
        docs_here = slice(lo, lo + DOCUMENT_CHUNK)
        groups["checked"].add_into(actual, c.total, docs_here)
        groups["added"].add_into(expected, c.total, docs_here)
        groups["taken"].add_into(expected, c.total, docs_here, sign=-1)
        for f, segments in ((0, groups["checked"]), (2, parts)):
            if packable:
                packed = np.zeros((local.size, min(nd, lo + DOCUMENT_CHUNK) - lo), np.int64)
                segments.add_into(packed, c.tally, docs_here, offset=lo)  # type: ignore[arg-type]
                counts[f, :, docs_here] = packed & ((1 << _FIELD) - 1)
                counts[f + 1, :, docs_here] = packed >> _FIELD
            else:
                segments.add_into(counts[f], c.count, docs_here)
                segments.add_into(counts[f + 1], c.printed, docs_here)
    difference = actual - expected
    checked_rows, checked_printed, part_rows, part_printed = counts
    printed = checked_printed + part_printed
    applies = printed > 0
    relation = meta.get_column("relation").to_numpy()[local]
    summing = np.isin(relation, EACH_CHECKED)
    applies[summing] &= (checked_rows[summing] > 0) & (part_rows[summing] > 0)
    applies &= ~_blocked(plan, docs, nd, local)
    checks = meta.get_column("check_id").to_numpy()[local]
    for j in np.flatnonzero(relation == "equal"):
        applies[j] &= _refs_found(c, m, int(local[j]), _rule(rules, checks[j]), docs)
    needs = meta.get_column("needs").to_numpy()[local]
    for j in np.flatnonzero(relation == "cross_rows"):
        for table in needs[j].split("|"):
            applies[j] &= docs.status(table, ("parsed", "declared_empty"))
    conditions = meta.get_column("condition").to_numpy()[local]
    for j in np.flatnonzero(conditions != None):  # noqa: E711 (numpy object array)
        applies[j] &= docs.condition[conditions[j]]
    at = np.flatnonzero(applies)
    j, d = np.divmod(at, nd)
    repeated = (checked_rows.take(at) > 1) & summing[j]
    failing = (difference.take(at) != 0) | repeated
    columns = {
        "doc": d,
        "comp": local[j],
        "actual": actual.take(at),
        "difference": difference.take(at),
        "n_values": printed.take(at).astype(np.int32),
        "actual_blank": checked_printed.take(at) == 0,
    }
    return (
        pl.DataFrame({k: v[~failing] for k, v in columns.items()}),
        pl.DataFrame({k: v[failing] for k, v in columns.items()}),
    )


@dataclass(frozen=True, slots=True)
class _Segments:
    """Member kinds grouped by result row: rows[j] receives the sum of its kinds' matrix rows."""

    rows: np.ndarray  # the result row of each segment
    starts: np.ndarray
    kinds: np.ndarray

    @classmethod
    def of(cls, row: np.ndarray, kind: np.ndarray) -> _Segments:
        order = np.argsort(row, kind="stable")
        row, kind = row[order], kind[order]
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]]) if row.size else np.zeros(0, np.int64)
        return cls(row[starts], starts, kind)

    def add_into(self, out: np.ndarray, matrix: np.ndarray, docs: slice, *, sign: int = 1, offset: int = 0) -> None:
        if not self.kinds.size:
            return
        sums = np.add.reduceat(matrix[self.kinds, docs], self.starts, axis=0)
        target = slice(docs.start - offset, docs.stop - offset)
        if sign > 0:
            out[self.rows, target] += sums
        else:
            out[self.rows, target] -= sums


def _rule(rules: Sequence[Rule], check_id: str) -> Rule:
    return next(r for r in rules if r.id == check_id)


def _refs_found(c: Cells, members: pl.DataFrame, comp: int, rule: Rule, docs: Documents) -> np.ndarray:
    """Per document: every CellRef of an equal rule has a cell, or its table is declared empty there."""
    refs = [*rule.left, *rule.right]  # type: ignore[misc]
    own = members.filter(pl.col("comp") == comp)
    found = np.ones(c.count.shape[1], bool)
    for k, ref in enumerate(refs):
        kinds = own.filter(pl.col("ref") == k).get_column("kind").to_numpy().astype(np.int64)
        here = c.count[kinds].sum(axis=0) > 0 if kinds.size else np.zeros(c.count.shape[1], bool)
        found &= here | docs.status(ref.table, ("declared_empty",))
    return found


def _no_entries() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "doc": pl.Int64,
            "comp": pl.Int64,
            "actual": pl.Int64,
            "difference": pl.Int64,
            "n_values": pl.Int32,
            "actual_blank": pl.Boolean,
        }
    )


def _expand(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges [start, end): the range number and the position of each element, ranges laid end to end."""
    lengths = ends - starts
    owner = np.repeat(np.arange(starts.size), lengths)
    before = np.cumsum(lengths) - lengths
    return owner, np.arange(int(lengths.sum())) - np.repeat(before, lengths) + np.repeat(starts, lengths)


def kind_sum_cells(c: Cells, plan: Plan, bad: pl.DataFrame) -> pl.DataFrame:
    """Every item of each candidate (numbered by its row in `bad`): (cand, item, checked, sign, ref)."""
    m = plan.members
    member_comp = m.get_column("comp").to_numpy().astype(np.int64)
    wanted = bad.get_column("comp").to_numpy()
    cand, pos = _expand(np.searchsorted(member_comp, wanted, "left"), np.searchsorted(member_comp, wanted, "right"))
    d = bad.get_column("doc").to_numpy()[cand]
    k = m.get_column("kind").to_numpy().astype(np.int64)[pos]
    n = c.count[k, d]
    frame = pl.DataFrame(
        {
            "cand": cand,
            "item": c.first[k, d],
            "flat": k * c.count.shape[1] + d,
            "checked": m.get_column("checked").to_numpy()[pos],
            "sign": m.get_column("sign").to_numpy()[pos],
            "ref": m.get_column("ref").to_numpy()[pos],
            "n": n,
        }
    ).filter(pl.col("n") > 0)
    several = frame.filter(pl.col("n") > 1)
    if several.height:
        several = several.drop("item").join(c.repeated, on="flat").select(frame.columns)
        frame = pl.concat([frame.filter(pl.col("n") == 1), several])
    return frame.drop("flat", "n")


# ---------------------------------------------------------------------------------------------------- row sums


@dataclass(frozen=True, slots=True)
class _Layout:
    """Items grouped by table (stably: each table's items stay in document order), and dense instance codes."""

    order: np.ndarray
    bounds: np.ndarray  # the items of table code t are order[bounds[t]:bounds[t + 1]]
    table_code: dict[str, int]
    kind_instance: np.ndarray
    instance_names: dict[int, str]

    def items_of(self, table: str) -> np.ndarray:
        code = self.table_code.get(table)
        if code is None:
            return np.zeros(0, np.int64)
        return self.order[self.bounds[code] : self.bounds[code + 1]]


def _layout(c: Cells) -> _Layout:
    kind_table, table_code = _dense(c.kinds.get_column("table_id"))
    kind_instance, instance_code = _dense(c.kinds.get_column("instance"))
    # small unsigned codes: numpy sorts them stably by radix, in one pass
    item_table = kind_table.astype(np.uint8 if len(table_code) < 256 else np.uint16)[c.kind]
    order = np.argsort(item_table, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(item_table, minlength=len(table_code)))]
    names = {code: name for name, code in instance_code.items()}
    return _Layout(order, bounds, table_code, kind_instance, names)


@dataclass(frozen=True, slots=True)
class _Rows:
    """The rows of one columns_sum rule that it applies to, and the items of those that fail."""

    doc: np.ndarray
    actual: np.ndarray
    difference: np.ndarray
    n_values: np.ndarray
    actual_blank: np.ndarray
    instance: np.ndarray
    failing: np.ndarray
    owner: np.ndarray  # for each involved item, its failing row (numbered among the failing rows)
    item: np.ndarray
    checked: np.ndarray
    sign: np.ndarray


def _row_rule(c: Cells, layout: _Layout, members: tuple[np.ndarray, ...], rule: Rule, docs: Documents) -> _Rows | None:
    """One columns_sum rule over every row of its table."""
    kinds, checked, signs = members
    nk = c.count.shape[0]
    role = np.full(nk, -1, np.int64)  # -1 not a member, 1 the total column, 0 a part
    sign = np.zeros(nk, np.int64)
    role[kinds], sign[kinds] = checked, signs
    span = layout.items_of(rule.table)  # type: ignore[arg-type]
    sel = span[role[c.kind[span]] >= 0]
    if sel.size == 0:
        return None
    d, inst, ro = c.doc[sel], layout.kind_instance[c.kind[sel]], c.row_order[sel]
    starts = _row_starts(d, inst, ro)
    if starts is None:  # a row's cells are not one run: put them together, keeping their order
        sel = sel[np.lexsort((ro, inst, d))]
        d, inst, ro = c.doc[sel], layout.kind_instance[c.kind[sel]], c.row_order[sel]
        starts = np.flatnonzero(np.r_[True, (d[1:] != d[:-1]) | (inst[1:] != inst[:-1]) | (ro[1:] != ro[:-1])])
    k = c.kind[sel]
    is_total = role[k] == 1
    v, p = c.value[sel], c.present[sel]
    actual = np.add.reduceat(np.where(is_total, v, 0), starts)
    difference = actual - np.add.reduceat(np.where(is_total, 0, v * sign[k]), starts)
    printed = np.add.reduceat(p.astype(np.int32), starts)
    row_doc, row_instance = d[starts], inst[starts]
    applies = (printed > 0) & ~_merged_rows(docs, rule, layout, row_doc, row_instance)
    if rule.condition:
        applies &= docs.condition[rule.condition][row_doc]
    at = np.flatnonzero(applies)
    failing = difference[at] != 0
    owner, pos = _expand(starts[at[failing]], np.r_[starts[1:], sel.size][at[failing]])
    return _Rows(
        doc=row_doc[at],
        actual=actual[at],
        difference=difference[at],
        n_values=printed[at],
        actual_blank=np.add.reduceat((p & is_total).astype(np.int32), starts)[at] == 0,
        instance=row_instance[at],
        failing=failing,
        owner=owner,
        item=sel[pos],
        checked=is_total[pos],
        sign=sign[k[pos]],
    )


def row_sums(
    c: Cells, plan: Plan, docs: Documents, rules: Sequence[Rule]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """columns_sum comparisons, one per printed row: passing entries, failing entries and the failing rows' items."""
    layout = _layout(c)
    m = plan.members
    comp_of = m.get_column("comp").to_numpy()
    arrays = [m.get_column(n).to_numpy() for n in ("kind", "checked", "sign")]
    done: list[tuple[int, _Rows]] = []
    for comp, check_id in (
        plan.comparisons.filter(pl.col("relation") == "columns_sum").select("comp", "check_id").rows()
    ):
        lo, hi = np.searchsorted(comp_of, comp, "left"), np.searchsorted(comp_of, comp, "right")
        rows = _row_rule(c, layout, tuple(a[lo:hi] for a in arrays), _rule(rules, check_id), docs)
        if rows is not None:
            done.append((comp, rows))
    if not done:
        none = _no_entries().with_columns(pl.lit("").alias("instance"))
        return none, none, pl.DataFrame(schema=INVOLVED)

    def joined(name: str) -> np.ndarray:
        return np.concatenate([getattr(r, name) for _, r in done])

    failing = joined("failing")
    entries = pl.DataFrame(
        {
            "doc": joined("doc"),
            "comp": np.concatenate([np.full(r.doc.size, comp, np.int64) for comp, r in done]),
            "actual": joined("actual"),
            "difference": joined("difference"),
            "n_values": joined("n_values").astype(np.int32),
            "actual_blank": joined("actual_blank"),
            "instance": pl.Series(joined("instance")).replace_strict(layout.instance_names, return_dtype=pl.String),
        }
    )
    offsets = np.cumsum([0] + [int(r.failing.sum()) for _, r in done[:-1]])
    involved = pl.DataFrame(
        {
            "cand": np.concatenate([r.owner + o for (_, r), o in zip(done, offsets, strict=True)]),
            "item": joined("item"),
            "checked": joined("checked"),
            "sign": joined("sign"),
            "ref": np.zeros(sum(r.item.size for _, r in done), np.int16),
        }
    ).cast(INVOLVED)  # type: ignore[arg-type]
    return entries.filter(pl.Series(~failing)), entries.filter(pl.Series(failing)), involved


def _dense(values: pl.Series) -> tuple[np.ndarray, dict[str, int]]:
    """Small dense codes for a few distinct strings, and the code of each string."""
    codes = (values.rank("dense") - 1).to_numpy().astype(np.int64)
    return codes, dict(zip(values.to_list(), codes.tolist(), strict=True))


def _row_starts(d: np.ndarray, inst: np.ndarray, ro: np.ndarray) -> np.ndarray | None:
    """Where each row's run of cells starts, or None when some row's cells are not one contiguous run."""
    change = np.r_[True, (d[1:] != d[:-1]) | (inst[1:] != inst[:-1]) | (ro[1:] != ro[:-1])]
    starts = np.flatnonzero(change)
    span = int(ro.max()) - int(ro.min()) + 1
    key = (d * (int(inst.max()) + 1) + inst) * span + (ro - int(ro.min()))
    distinct = np.count_nonzero(np.bincount(key))
    return starts if distinct == starts.size else None


def _merged_rows(
    docs: Documents, rule: Rule, layout: _Layout, row_doc: np.ndarray, row_instance: np.ndarray
) -> np.ndarray:
    """Rows of a (document, instance) where the source merged a column this rule sums: none can be checked."""
    wanted = [rule.total, *(p.lstrip("-") for p in rule.parts)]  # type: ignore[union-attr]
    hit = docs.unplaced.filter((pl.col("table_id") == rule.table) & pl.col("column").is_in(wanted))
    if hit.is_empty():
        return np.zeros(row_doc.size, bool)
    code_of = {name: code for code, name in layout.instance_names.items()}
    width = len(code_of) + 1
    blocked = [d * width + code_of.get(i, width - 1) for d, i in hit.select("doc", "instance").unique().iter_rows()]
    return np.isin(row_doc * width + row_instance, blocked)


# ---------------------------------------------------------------------------------------------------- descriptions


def _each_checked_apart(bad: pl.DataFrame, involved: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A rows_sum / hierarchy candidate whose checked cell is printed twice becomes one comparison per printed cell."""
    checked = involved.filter(pl.col("checked")).group_by("cand").len()
    repeated = checked.filter(pl.col("len") > 1).join(
        bad.with_row_index("cand").filter(pl.col("relation").is_in(EACH_CHECKED)).select(pl.col("cand").cast(pl.Int64)),
        on="cand",
        how="semi",
    )
    if repeated.is_empty():
        return bad, involved
    twice = involved.join(repeated.select("cand"), on="cand", how="semi")
    heads = twice.filter(pl.col("checked")).with_columns(pl.int_range(pl.len()).over("cand").alias("sub"))
    split = pl.concat(
        [heads, twice.filter(~pl.col("checked")).join(heads.select("cand", "sub"), on="cand")], how="diagonal"
    )
    numbered = split.select("cand", "sub").unique().sort("cand", "sub").with_row_index("new", offset=bad.height)
    split = split.join(numbered, on=["cand", "sub"]).drop("cand", "sub").rename({"new": "cand"})
    kept = involved.join(repeated.select("cand"), on="cand", how="anti")
    more = bad.with_row_index("cand").with_columns(pl.col("cand").cast(pl.Int64))
    more = numbered.join(more, on="cand").sort("new").drop("cand", "sub", "new")
    return pl.concat([bad, more.select(bad.columns)]), pl.concat([kept, split.select(kept.columns).cast(kept.schema)])


def _column_positions(kinds: pl.DataFrame) -> np.ndarray:
    """Each kind's column position in its table's template (merged columns at their first), unknown ones last."""
    positions = []
    for table_id, column in kinds.select("table_id", "column_key").iter_rows():
        try:
            keys = [col.key for col in catalogue.table(table_id).all_columns()]
        except KeyError:
            keys = []
        first = (column or "").split("|")[0]
        positions.append(keys.index(first) if first in keys else len(keys))
    return np.array(positions, dtype=np.int64)


def _allowance(value: np.ndarray, present: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """The rounding allowance of printed values: half a unit of the last printed digit; a printed 0 is exact."""
    return np.where(present & (value != 0), 5 * 10 ** np.clip(5 - decimals, 0, None), 0)


def describe(c: Cells, plan: Plan, bad: pl.DataFrame, involved: pl.DataFrame) -> pl.DataFrame:
    """Candidates compared cell by cell, in COMPARISON_COLUMNS: values, allowance, precision, labels and cells."""
    meta = plan.comparisons.select(
        "comp", "check_id", "relation", "table_id", pl.col("instance").alias("meta_instance"), "side", "column",
        pl.col("code").alias("meta_code"), "other",
    )  # fmt: skip
    bad = bad.join(meta, on="comp", how="left", maintain_order="left")
    bad, involved = _each_checked_apart(bad, involved)
    if bad.is_empty():
        return _passing(_no_entries(), plan)
    # the checked cell first, then the parts in the order of their rule, then as printed: by line and template column
    at = involved.get_column("item").to_numpy()
    involved = involved.with_columns(
        pl.Series("line", c.line[at]), pl.Series("position", _column_positions(c.kinds)[c.kind[at]])
    ).sort("cand", "checked", "ref", "line", "position", "item", descending=[False, True, False, False, False, False])
    cand = involved.get_column("cand").to_numpy()
    item = involved.get_column("item").to_numpy()
    checked = involved.get_column("checked").to_numpy()
    sign = involved.get_column("sign").to_numpy().astype(np.int64)
    starts = np.flatnonzero(np.r_[True, cand[1:] != cand[:-1]])
    value, present = c.value[item], c.present[item]
    head = np.zeros(item.size, bool)
    head[starts] = True
    parts = np.flatnonzero(~checked)
    first_part = parts[np.r_[True, cand[parts][1:] != cand[parts][:-1]]] if parts.size else parts
    part_line = np.full(bad.height, -1, np.int64)
    part_line[cand[first_part]] = c.line[item[first_part]]
    described = pl.DataFrame(
        {
            "cand": cand[starts],
            "actual": np.add.reduceat(value * checked, starts),
            "expected": np.add.reduceat(value * sign * ~checked, starts),
            "tolerance": np.add.reduceat(_allowance(value, present, c.decimals[item]), starts),
            "n_values": np.add.reduceat(present.astype(np.int32), starts),
            "decimals": np.maximum.reduceat(c.decimals[item], starts),
            "actual_blank": np.add.reduceat((present & checked).astype(np.int32), starts) == 0,
            "has_checked": checked[starts],
            "part_line": part_line[cand[starts]],
        }
    ).hstack(
        c.items.select("table_id", "label", "code", "column_key", "line")
        .gather(item[starts])
        .rename({"table_id": "first_table", "label": "row_label"})
    )
    rest = present & ~(head & checked)
    listed = (
        pl.DataFrame({"cand": cand[rest], "cell": c.order[item[rest]]})
        .with_columns(pl.col("cand").set_sorted())
        .group_by("cand", maintain_order=True)
        .agg(pl.col("cell").alias("cells"))
    )
    hierarchy = np.flatnonzero(bad.get_column("relation").to_numpy() == "hierarchy")
    in_hierarchy = parts[np.isin(cand[parts], hierarchy)]
    codes = (
        pl.DataFrame({"cand": cand[in_hierarchy]})
        .hstack(c.items.select("code").gather(item[in_hierarchy]))
        .group_by("cand", maintain_order=True)
        .agg(pl.col("code").str.join(" + ").alias("part_codes"))
    )
    out = (
        bad.select("doc", "instance", *meta.columns[1:])
        .with_row_index("cand")
        .with_columns(pl.col("cand").cast(pl.Int64))
        # a candidate split into one comparison per printed total keeps no cells of its own
        .join(described, on="cand", how="inner")
        .join(listed, on="cand", how="left")
        .join(codes, on="cand", how="left")
    )
    relation = pl.col("relation")
    synthetic = ~pl.col("has_checked").fill_null(False)
    label = pl.when(synthetic & (relation == "equal")).then(pl.lit("(declared empty)")).otherwise(pl.col("row_label"))
    code = (
        pl.when(relation == "cross_rows")
        .then(pl.col("meta_code"))
        .when(synthetic & (relation == "equal"))
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.col("code"))
    )
    line = pl.when(synthetic & relation.is_in(["equal", "cross_rows"])).then(None).otherwise(pl.col("line"))
    other = (
        pl.when(relation == "hierarchy")
        .then(pl.col("part_codes"))
        .when(relation == "cross_rows")
        .then(
            pl.format(
                "{} line {}",
                pl.col("other").str.replace("{code}", pl.col("meta_code"), literal=True),
                pl.when(pl.col("part_line") >= 0).then(pl.col("part_line").cast(pl.String)).otherwise(pl.lit("-")),
            )
        )
        .otherwise(pl.col("other"))
    )
    return out.select(
        pl.col("doc"),
        pl.col("check_id"),
        pl.when(synthetic).then(pl.col("table_id")).otherwise(pl.col("first_table")).alias("table_id"),
        pl.coalesce("instance", "meta_instance").alias("instance"),
        pl.col("side"),
        label.alias("row_label"),
        code.alias("code"),
        pl.when(synthetic).then(pl.col("column")).otherwise(pl.col("column_key")).alias("column"),
        line.cast(pl.Int32).alias("line"),
        pl.col("actual"),
        pl.col("expected"),
        (pl.col("actual") - pl.col("expected")).alias("difference"),
        pl.col("tolerance"),
        pl.col("n_values"),
        pl.col("decimals").fill_null(2).cast(pl.Int8),
        other.alias("other"),
        pl.col("actual_blank"),
        pl.col("cells").fill_null([]),
    )


# ---------------------------------------------------------------------------------------------------- together


def _passing(entries: pl.DataFrame, plan: Plan) -> pl.DataFrame:
    meta = plan.comparisons.select(
        "comp", "check_id", "table_id", pl.col("instance").alias("meta_instance"), "side", "column", "code", "other"
    )
    out = entries.join(meta, on="comp", how="left")
    instance = (
        pl.coalesce("instance", "meta_instance") if "instance" in entries.columns else pl.col("meta_instance")
    ).alias("instance")
    return out.select(
        "doc",
        "check_id",
        "table_id",
        instance,
        "side",
        pl.lit(None, dtype=pl.String).alias("row_label"),
        pl.when(pl.col("code") != TOTAL).then(pl.col("code")).alias("code"),  # a 合计 has no code
        "column",
        pl.lit(None, dtype=pl.Int32).alias("line"),
        "actual",
        (pl.col("actual") - pl.col("difference")).alias("expected"),
        "difference",
        pl.lit(None, dtype=pl.Int64).alias("tolerance"),
        "n_values",
        pl.lit(None, dtype=pl.Int8).alias("decimals"),
        "other",
        "actual_blank",
        pl.lit(None, dtype=COMPARISON_COLUMNS["cells"]).alias("cells"),
    )


def evaluate(
    items: pl.DataFrame, tables: pl.DataFrame, rules: Sequence[Rule], conditions: dict[str, pl.Series]
) -> pl.DataFrame:
    """Every place where an identity rule can be evaluated, for all documents at once, in COMPARISON_COLUMNS.

    Comparisons that hold carry their values; those that fail also carry allowance, precision, labels and cells.
    """
    if items.is_empty():
        return pl.DataFrame(schema=COMPARISON_COLUMNS)
    c = cells(items)
    plan = _plan(c.kinds, rules)
    docs = documents(c, tables, conditions)
    ok_kinds, bad_kinds = kind_sums(c, plan, docs, rules)
    ok_rows, bad_rows, row_cells = row_sums(c, plan, docs, rules)
    kind_cells = kind_sum_cells(c, plan, bad_kinds)
    bad = pl.concat([bad_kinds.with_columns(pl.lit(None, dtype=pl.String).alias("instance")), bad_rows])
    involved = pl.concat(
        [
            kind_cells.cast(INVOLVED),  # type: ignore[arg-type]
            row_cells.with_columns(pl.col("cand") + bad_kinds.height).cast(INVOLVED),  # type: ignore[arg-type]
        ]
    )
    out = pl.concat(
        [_passing(ok_kinds, plan), _passing(ok_rows, plan), describe(c, plan, bad, involved)], how="vertical_relaxed"
    )
    return out.select(
        c.names.gather(out.get_column("doc")).alias("sha256"),
        *(pl.col(n).cast(t) for n, t in COMPARISON_COLUMNS.items() if n != "sha256"),
    )
