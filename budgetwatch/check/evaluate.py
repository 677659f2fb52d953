"""Every identity of a compiled plan, evaluated over the line items of many documents at once.

Each line item gets a document and a kind number; the plan (`identity_plan`) says which comparisons each kind takes
part in. One compiled pass over the items (`kernels`; plain Python for a small batch, see `loops_for`) sums every
comparison, a document at a time, in exact int64; row identities (columns_sum) are summed row by row in another. The
same passes decide which comparisons apply (a value printed, the tables there, the rule's condition met, no column
merged in the source) and list the cells of those that fail; only those, and those whose checked cell is printed
twice, are then described cell by cell.
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
import polars as pl

from budgetwatch.check import kernels
from budgetwatch.check.identity_plan import KIND_COLUMNS, TOTAL, Plan, compile_plan, kind_columns, total_row
from budgetwatch.check.rules import Rule

# Below this many line items a process that has not loaded numba runs the loops as Python (the same code, the same
# results): over one 900-item report they take about 40 ms, where importing numba and loading the compiled loops from
# its cache takes a fresh process 0.7 s. A process that has loaded them (a worker, after a large batch) keeps them.
PLAIN_LOOPS_BELOW = 20_000

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


@dataclass(frozen=True, slots=True)
class Cells:
    """The line items of a batch as arrays, in document order, each with its document and kind number."""

    items: pl.DataFrame  # what descriptions need of each item beyond its kind
    names: pl.Series  # sha256 of each document number
    kinds: pl.DataFrame
    doc: np.ndarray
    bounds: np.ndarray  # the items of document d are bounds[d]:bounds[d + 1]
    kind: np.ndarray
    order: np.ndarray  # the row of each item in the frame as given
    value: np.ndarray
    present: np.ndarray
    decimals: np.ndarray
    line: np.ndarray
    row_order: np.ndarray
    memo: dict = field(default_factory=dict)  # what is worked out from the arrays once and asked for again


def _in_document_order(items: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray, np.ndarray, pl.Series, np.ndarray]:
    """Number the documents; their items are contiguous as extracted, and sorted here (stably) when they are not.

    Returns the items, each item's document, where each document's items begin (and the end), the documents' names
    and the row of each item in the frame as given."""
    sha = items.get_column("sha256")
    doc = sha.rle_id().to_numpy()
    starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
    names = sha.gather(starts)
    order = None
    if names.n_unique() != names.len():
        order = items.select(pl.arg_sort_by("sha256", maintain_order=True)).to_series().to_numpy().astype(np.int64)
        items = items[order]
        doc = items.get_column("sha256").rle_id().to_numpy()
        starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
        names = items.get_column("sha256").gather(starts)
    bounds = np.r_[starts, items.height].astype(np.int64)
    return items, doc, bounds, names, np.arange(items.height, dtype=np.int64) if order is None else order


_TOTAL_MARK = 0x9E3779B97F4A7C15  # xor-ed into the key of a 合计 row


def loops_for(items: int) -> types.ModuleType:
    """The loops for a batch of `items` line items: compiled by numba, or plain for a small batch while numba is not
    loaded."""
    if items < PLAIN_LOOPS_BELOW and "budgetwatch.check.compiled_kernels" not in sys.modules:
        return kernels
    from budgetwatch.check import compiled_kernels  # noqa: PLC0415 - numba loads with the first large batch

    return compiled_kernels


def _kinds(items: pl.DataFrame) -> tuple[np.ndarray, pl.DataFrame]:
    """The kind number of each item, and the distinct kinds numbered in order of first appearance."""
    # a 64-bit key per item: each attribute column hashed with its own seed, combined by xor (column by column is
    # twice as fast as by row). Kinds number in the hundreds, so a collision (about n²/2⁶⁵) is not a concern. The
    # columns are hashed as they are, nulls included; the attributes are worked out for the first item of each kind
    hashes = [pl.col(name).hash(seed=k + 1) for k, name in enumerate(KIND_COLUMNS[:-1])]
    total = pl.when(total_row()).then(pl.lit(_TOTAL_MARK, pl.UInt64)).otherwise(pl.lit(0, pl.UInt64))
    key = items.select(reduce(lambda a, b: a.xor(b), [*hashes, total]).alias("key")).to_series()
    with np.errstate(over="ignore"):  # the hash wraps around on purpose (as Python, numpy would warn)
        kind, first = loops_for(key.len()).number_distinct(key.to_numpy())
    kinds = items[first].select(kind_columns(items))
    if kinds.is_duplicated().any():  # kinds that differ only by a null or empty instance or side are one kind
        same = kinds.with_row_index("raw").group_by(kinds.columns, maintain_order=True).agg(pl.col("raw"))
        one = np.empty(kinds.height, np.int64)
        for number, raws in enumerate(same.get_column("raw").to_list()):
            one[raws] = number
        kind, kinds = one[kind], same.drop("raw")
    return kind, kinds.with_row_index("kind")


def cells(items: pl.DataFrame) -> Cells:
    """The batch as arrays."""
    items, doc, bounds, names, order = _in_document_order(items)
    kind, kinds = _kinds(items)
    return Cells(
        items=items.select("label", "line"),
        names=names,
        kinds=kinds,
        doc=doc,
        bounds=bounds,
        kind=kind,
        order=order,
        # native dtypes, no copies: the compiled loops take any integer width
        value=items.get_column("micros").fill_null(0).to_numpy(),
        present=~items.get_column("blank").to_numpy(),
        decimals=items.get_column("decimals").fill_null(2).to_numpy(),
        line=items.get_column("line").fill_null(-1).to_numpy(),
        row_order=items.get_column("row_order").fill_null(0).to_numpy(),
    )


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A plan, and what the kernels need of it, worked out once."""

    plan: Plan
    kind_sums: _KindSumPlan
    row_sums: _RowSumPlan


_PLANS: dict[tuple, _Compiled] = {}
_PLANS_LOCK = threading.Lock()  # batches may be evaluated side by side


def _compiled(kinds: pl.DataFrame, rules: Sequence[Rule]) -> _Compiled:
    """The compiled plan, reused while batches bring the same kinds (as batches of one template do)."""
    key = (tuple(kinds.iter_rows()), tuple(r.id for r in rules))
    with _PLANS_LOCK:
        compiled = _PLANS.get(key)
    if compiled is None:
        plan = compile_plan(kinds, rules)
        compiled = _Compiled(plan, _kind_sum_plan(plan, rules, kinds.height), _row_sum_plan(plan, rules, kinds))
        with _PLANS_LOCK:
            if len(_PLANS) >= 16:
                _PLANS.pop(next(iter(_PLANS)))
            _PLANS[key] = compiled
    return compiled


@dataclass(frozen=True, slots=True)
class _ByKind:
    """Members of some comparisons as compressed rows by kind: the members of kind k are ptr[k]:ptr[k + 1]."""

    ptr: np.ndarray
    comp: np.ndarray  # numbered 0 … n-1 among these comparisons
    checked: np.ndarray
    sign: np.ndarray
    ref: np.ndarray
    slot: np.ndarray  # equal rules: the (comparison, CellRef) pair, numbered; else -1

    @classmethod
    def of(cls, members: pl.DataFrame, n_kinds: int, local: np.ndarray) -> _ByKind:
        ordered = members.sort("kind", "comp", "ref", maintain_order=True)
        kind = ordered.get_column("kind").to_numpy().astype(np.int64)
        comp = np.searchsorted(local, ordered.get_column("comp").to_numpy())
        ref = ordered.get_column("ref").to_numpy().astype(np.int64)
        slotted = ordered.get_column("slotted").to_numpy()
        slot = np.full(kind.size, -1, np.int64)
        slot[slotted] = np.unique(comp[slotted] * 1024 + ref[slotted], return_inverse=True)[1]
        return cls(
            ptr=np.r_[0, np.cumsum(np.bincount(kind, minlength=n_kinds))].astype(np.int64),
            comp=comp.astype(np.int64),
            checked=ordered.get_column("checked").to_numpy().astype(np.bool_),
            sign=ordered.get_column("sign").to_numpy().astype(np.int64),
            ref=ref.astype(np.int16),
            slot=slot,
        )


# ---------------------------------------------------------------------------------------------------- documents


@dataclass(frozen=True, slots=True)
class Documents:
    """Facts about each document of the batch that decide whether a comparison applies there."""

    status: Callable[[str, Sequence[str]], np.ndarray]  # (table, statuses) → bool per document
    condition: dict[str, np.ndarray]
    unplaced: pl.DataFrame  # (doc, table_id, instance, column): a merged source column, sums down it are unsure
    printed: pl.DataFrame  # (doc, table_id, instance, column): the columns each table's header printed


def row_totals(c: Cells, table: str, side: str | None, keys: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """Per document: Σ |amount| of the rows of a table with these keys (all rows when None), and their item count."""
    if table not in c.memo:  # per document and kind of the table, in one pass: conditions ask several times
        kinds = c.kinds.filter(pl.col("table_id") == table)
        column = np.full(c.kinds.height, -1, np.int64)
        column[kinds.get_column("kind").to_numpy()] = np.arange(kinds.height)
        c.memo[table] = (kinds, *loops_for(c.kind.size).kind_totals(c.bounds, c.kind, c.value, column, kinds.height))
    kinds, totals, counts = c.memo[table]
    chosen = pl.col("table_id").is_not_null()  # every kind of the table (a literal would make one row of none)
    if side is not None:
        chosen &= pl.col("side") == side
    if keys is not None:
        chosen &= pl.col("row_key").is_in(list(keys))
    at = np.flatnonzero(kinds.select(chosen.fill_null(False)).to_series().to_numpy())
    return totals[:, at].sum(axis=1), counts[:, at].sum(axis=1)


def documents(c: Cells, tables: pl.DataFrame, conditions: dict[str, np.ndarray]) -> Documents:
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

    merged = c.kinds.get_column("column_key").str.contains("|", literal=True).fill_null(False).to_numpy()
    at = np.flatnonzero(merged[c.kind]) if merged.any() else np.zeros(0, np.int64)
    unplaced = (
        pl.DataFrame({"doc": c.doc[at], "kind": c.kind[at].astype(np.uint32)})
        .join(c.kinds.select("kind", "table_id", "instance", "column_key"), on="kind")
        .select("doc", "table_id", "instance", pl.col("column_key").str.split("|").alias("column"))
        .explode("column")
        .unique()
    )
    printed = pl.DataFrame(schema={"doc": pl.Int64, "table_id": pl.String, "instance": pl.String, "column": pl.String})
    if "columns" in tables.columns:
        printed = (
            tables.filter(pl.col("columns").list.len() > 0)
            .join(numbered, on="sha256")
            .select("doc", "table_id", pl.col("instance").fill_null(""), pl.col("columns").alias("column"))
            .explode("column")
        )
    return Documents(status=status, condition=conditions, unplaced=unplaced, printed=printed)


def _blocked(k: _KindSumPlan, docs: Documents, nd: int) -> np.ndarray:
    """documents × comparisons: sums down a column the source merged somewhere (rows_sum, hierarchy)."""
    out = np.zeros((nd, k.local.size), bool)
    if docs.unplaced.is_empty():
        return out
    hit = docs.unplaced.join(k.down_columns, on=["table_id", "instance", "column"])
    out[hit.get_column("doc").to_numpy(), hit.get_column("j").to_numpy()] = True
    return out


# ---------------------------------------------------------------------------------------------------- kind sums


@dataclass(frozen=True, slots=True)
class _KindSumPlan:
    """What the kind sums need of a plan, worked out once per plan."""

    local: np.ndarray  # comparison number of each local column
    by_kind: _ByKind
    down_columns: pl.DataFrame  # (j, table_id, instance, column) of the rows_sum and hierarchy comparisons
    needs: list[tuple[tuple[str, ...], np.ndarray]]  # cross_rows: the tables needed, and by which columns
    conditional: list[tuple[str, np.ndarray]]  # a rule's condition, and its columns
    ref_ptr: np.ndarray  # equal rules: the references of column j are ref_ptr[j]:ref_ptr[j + 1]
    ref_slot: np.ndarray
    ref_tables: list[str]
    check_of: np.ndarray
    summing: np.ndarray


def _kind_sum_plan(plan: Plan, rules: Sequence[Rule], n_kinds: int) -> _KindSumPlan:
    wanted = plan.comparisons.filter(pl.col("relation").is_in(KIND_SUMS)).with_row_index("j")
    m = plan.members.join(wanted.select("comp", "relation"), on="comp").with_columns(
        (pl.col("relation") == "equal").alias("slotted")
    )
    local = wanted.get_column("comp").to_numpy().astype(np.int64)
    by_kind = _ByKind.of(m, n_kinds, local)
    relation = wanted.get_column("relation").to_numpy()
    needs = wanted.get_column("needs").to_numpy()
    crossing = np.flatnonzero(relation == "cross_rows")
    needed = {tuple(needs[j].split("|")) for j in crossing}
    conditions = wanted.get_column("condition").to_numpy()
    conditional = np.flatnonzero(conditions != None)  # noqa: E711 (numpy object array)
    # an equal rule needs each of its references printed in the document, or its table declared empty
    slots = _slots(by_kind)
    ref_count = np.zeros(local.size, np.int64)
    ref_slot, ref_tables = [], []
    for j in np.flatnonzero(relation == "equal"):
        rule = _rule(rules, wanted.get_column("check_id")[int(j)])
        for k, ref in enumerate([*rule.left, *rule.right]):  # type: ignore[misc]
            ref_count[j] += 1
            ref_slot.append(slots.get((int(j), k), -1))
            ref_tables.append(ref.table)
    return _KindSumPlan(
        local=local,
        by_kind=by_kind,
        down_columns=wanted.filter(pl.col("relation").is_in(EACH_CHECKED)).select(
            pl.col("j").cast(pl.Int64), "table_id", "instance", "column"
        ),
        needs=[(t, np.array([j for j in crossing if tuple(needs[j].split("|")) == t])) for t in sorted(needed)],
        conditional=[(cond, conditional[conditions[conditional] == cond]) for cond in set(conditions[conditional])],
        ref_ptr=np.r_[0, np.cumsum(ref_count)].astype(np.int64),
        ref_slot=np.array(ref_slot, np.int64),
        ref_tables=ref_tables,
        check_of=np.searchsorted(plan.check_ids, wanted.get_column("check_id").to_numpy()),
        summing=_part_rows_needed(wanted, rules),
    )


def _part_rows_needed(wanted: pl.DataFrame, rules: Sequence[Rule]) -> np.ndarray:
    """Per comparison: 0 when it is not a sum; else how many part rows must be there for it to apply: each fixed row a
    rows_sum names (a sum whose named rows the table does not print cannot be judged), at least one otherwise."""
    needed = np.zeros(wanted.height, np.int64)
    for j, (check_id, relation) in enumerate(wanted.select("check_id", "relation").iter_rows()):
        if relation in EACH_CHECKED:
            parts = _rule(rules, check_id).parts if relation == "rows_sum" else None
            named = [p for p in parts if not p.lstrip("-").isdigit()] if isinstance(parts, tuple) else []
            needed[j] = max(len(named), 1)
    return needed


@dataclass(frozen=True, slots=True)
class KindSums:
    """The rows_sum, hierarchy, equal and cross_rows comparisons that apply, and how to find their items."""

    passing: pl.DataFrame  # empty unless asked for
    failing: pl.DataFrame  # failing, or a checked cell printed more than once: to describe
    cells: pl.DataFrame  # INVOLVED: the items of each failing one (`cand`, its row in `failing`)
    ran: np.ndarray  # documents × plan.check_ids: the rule ran there
    compared: int


def kind_sums(c: Cells, compiled: _Compiled, docs: Documents, *, held: bool = True) -> KindSums:
    """Every (document, comparison) of the kind-sum relations that applies, summed in one pass over the items."""
    plan, k = compiled.plan, compiled.kind_sums
    nd, by_kind = c.names.len(), k.by_kind
    if not by_kind.comp.size or nd == 0:
        none = pl.DataFrame(schema=INVOLVED)
        return KindSums(_no_entries(), _no_entries(), none, np.zeros((nd, plan.check_ids.size), bool), 0)
    allowed = ~_blocked(k, docs, nd)
    for tables, columns in k.needs:
        here = np.logical_and.reduce([docs.status(t, ("parsed", "declared_empty")) for t in tables])
        allowed[:, columns] &= here[:, None]
    for condition, columns in k.conditional:
        allowed[:, columns] &= docs.condition[condition][:, None]
    ref_empty = [docs.status(t, ("declared_empty",)) for t in k.ref_tables]
    doc, comp, actual, difference, printed, blank, failing, compared, ran, items = loops_for(c.kind.size).kind_sums(
        c.bounds, c.kind, c.value, c.present, by_kind.ptr, by_kind.comp, by_kind.checked, by_kind.sign, by_kind.slot,
        by_kind.ref, allowed, k.summing, k.ref_ptr, k.ref_slot,
        np.column_stack(ref_empty) if ref_empty else np.zeros((nd, 0), bool), k.check_of, plan.check_ids.size, held,
    )  # fmt: skip
    columns = {
        "doc": doc,
        "comp": k.local[comp],
        "actual": actual,
        "difference": difference,
        "n_values": printed,
        "actual_blank": blank,
    }
    return KindSums(
        pl.DataFrame({k: v[~failing] for k, v in columns.items()}) if held else _no_entries(),
        pl.DataFrame({k: v[failing] for k, v in columns.items()}),
        pl.DataFrame(dict(zip(INVOLVED, items, strict=True)), schema=INVOLVED),
        ran,
        int(compared),
    )


def _slots(by_kind: _ByKind) -> dict[tuple[int, int], int]:
    """(local comparison, CellRef number) → its slot among the equal rules' references."""
    at = by_kind.slot >= 0
    return dict(
        zip(
            zip(by_kind.comp[at].tolist(), by_kind.ref[at].tolist(), strict=True),
            by_kind.slot[at].tolist(),
            strict=True,
        )
    )


def _rule(rules: Sequence[Rule], check_id: str) -> Rule:
    return next(r for r in rules if r.id == check_id)


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


# ---------------------------------------------------------------------------------------------------- row sums


@dataclass(frozen=True, slots=True)
class _RowSumPlan:
    """What the row sums need of a plan, worked out once per plan."""

    local: np.ndarray  # comparison number of each rule's column
    ptr: np.ndarray  # the members of kind k are ptr[k]:ptr[k + 1]
    rule_of: np.ndarray
    checked: np.ndarray
    sign: np.ndarray
    table_of: np.ndarray  # a code per (table, instance) of each kind
    instance_names: dict[int, str]
    codes: dict[tuple[str, str], int]
    rules: list[Rule]  # of each column
    check_of: np.ndarray


def _row_sum_plan(plan: Plan, rules: Sequence[Rule], kinds: pl.DataFrame) -> _RowSumPlan:
    wanted = plan.comparisons.filter(pl.col("relation") == "columns_sum")
    local = wanted.get_column("comp").to_numpy().astype(np.int64)
    m = plan.members.join(wanted.select("comp"), on="comp").sort("kind", "comp")
    kind = m.get_column("kind").to_numpy().astype(np.int64)
    table_of, instance_names, codes = _table_instances(kinds)
    return _RowSumPlan(
        local=local,
        ptr=np.r_[0, np.cumsum(np.bincount(kind, minlength=kinds.height))].astype(np.int64),
        rule_of=np.searchsorted(local, m.get_column("comp").to_numpy()),
        checked=m.get_column("checked").to_numpy().astype(np.bool_),
        sign=m.get_column("sign").to_numpy().astype(np.int64),
        table_of=table_of,
        instance_names=instance_names,
        codes=codes,
        rules=[_rule(rules, check_id) for check_id in wanted.get_column("check_id").to_list()],
        check_of=np.searchsorted(plan.check_ids, wanted.get_column("check_id").to_numpy()),
    )


def row_sums(
    c: Cells, compiled: _Compiled, docs: Documents, *, held: bool = True
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, np.ndarray, int]:
    """columns_sum comparisons, one per printed row: passing entries (if asked for), failing entries, the failing
    rows' items, documents × plan.check_ids where a row of the rule applied, and how many rows applied."""
    plan, p = compiled.plan, compiled.row_sums
    none = _no_entries().with_columns(pl.lit("").alias("instance"))
    nd, local, table_of = c.names.len(), p.local, p.table_of
    ran = np.zeros((nd, plan.check_ids.size), bool)
    if not local.size or not c.kind.size:
        return none, none, pl.DataFrame(schema=INVOLVED), ran, 0
    n_tables = int(table_of.max(initial=0)) + 1
    allowed = np.ones((nd, local.size), bool)
    blocked = []
    merged_tables = set(docs.unplaced.get_column("table_id").unique().to_list())
    for j, r in enumerate(p.rules):
        if r.condition:
            allowed[:, j] = docs.condition[r.condition]
        if r.table in merged_tables:
            blocked += [(d * n_tables + t) * local.size + j for d, t in _merged_rows(docs, r, p.codes)]
        blocked += [(d * n_tables + t) * local.size + j for d, t in _unprinted(docs, r, p.codes)]
    arrays = (c.doc, c.kind, c.value, c.present, c.row_order)
    blocked_keys = np.unique(np.array(blocked, np.int64))
    rest = (table_of, p.ptr, p.rule_of, p.checked, p.sign, allowed, blocked_keys, n_tables, held)
    rows, compared, rule_ran, cells, contiguous = loops_for(c.kind.size).row_sums(*arrays, *rest)
    order = None
    if not contiguous:  # a row's cells came apart: put each row together (stably) and sum again
        order = np.lexsort((c.row_order, table_of[c.kind], c.doc))
        rows, compared, rule_ran, cells, _ = loops_for(c.kind.size).row_sums(*(a[order] for a in arrays), *rest)
    rule, doc, table, _, actual, expected, printed, total_printed, failing = rows
    for j in range(local.size):
        ran[:, p.check_of[j]] |= rule_ran[:, j]

    def entries(at: np.ndarray) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "doc": doc[at],
                "comp": local[rule[at]],
                "actual": actual[at],
                "difference": actual[at] - expected[at],
                "n_values": printed[at],
                "actual_blank": total_printed[at] == 0,
                "instance": pl.Series(table[at]).replace_strict(p.instance_names, return_dtype=pl.String),
            }
        )

    cand, item, role, part_sign = cells
    involved = pl.DataFrame(
        {
            "cand": cand,
            "item": item if order is None else order[item],
            "checked": role,
            "sign": part_sign,
            "ref": np.zeros(cand.size, np.int16),
        },
        schema=INVOLVED,
    )
    passing = entries(np.flatnonzero(~failing)) if held else none
    return passing, entries(np.flatnonzero(failing)), involved, ran, int(compared)


def _table_instances(kinds: pl.DataFrame) -> tuple[np.ndarray, dict[int, str], dict[tuple[str, str], int]]:
    """A small code per (table, instance) of each kind, each code's instance, and the code of each pair."""
    pairs = kinds.select("table_id", "instance")
    code = (pairs.select(pl.struct("table_id", "instance").rank("dense")).to_series() - 1).to_numpy()
    names = dict(zip(code.tolist(), pairs.get_column("instance").to_list(), strict=True))
    codes = dict(zip(pairs.iter_rows(), code.tolist(), strict=True))
    return code.astype(np.int64), names, codes


def _unprinted(docs: Documents, rule: Rule, codes: dict[tuple[str, str], int]) -> list[tuple[int, int]]:
    """(document, table code) where the table's header does not print every column this rule adds up: a rule written
    for another template's columns does not apply there (Jiangsu's one-column 金额 tables, the 2024 Shanghai summary
    without 基本支出)."""
    wanted = {rule.total, *(p.lstrip("-") for p in rule.parts)}  # type: ignore[union-attr]
    tables = docs.printed.filter(pl.col("table_id") == rule.table)
    complete = tables.filter(pl.col("column").is_in(list(wanted))).group_by("doc", "instance").agg(pl.len().alias("n"))
    short = (
        tables.select("doc", "instance").unique()
        .join(complete, on=["doc", "instance"], how="left")
        .filter(pl.col("n").fill_null(0) < len(wanted))
    )  # fmt: skip
    pairs = short.select("doc", "instance").iter_rows()
    return [(d, codes[(rule.table, i)]) for d, i in pairs if (rule.table, i) in codes]


def _merged_rows(docs: Documents, rule: Rule, codes: dict[tuple[str, str], int]) -> list[tuple[int, int]]:
    """(document, table code) where the source merged a column this rule sums: no row there can be checked."""
    wanted = [rule.total, *(p.lstrip("-") for p in rule.parts)]  # type: ignore[union-attr]
    hit = docs.unplaced.filter((pl.col("table_id") == rule.table) & pl.col("column").is_in(wanted))
    pairs = hit.select("doc", "table_id", "instance").unique().iter_rows()
    return [(d, codes[(t, i)]) for d, t, i in pairs if (t, i) in codes]


# ---------------------------------------------------------------------------------------------------- descriptions


def _each_checked_apart(bad: pl.DataFrame, involved: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A rows_sum / hierarchy candidate whose checked cell is printed twice becomes one comparison per printed cell."""
    heads = involved.get_column("cand").to_numpy()[involved.get_column("checked").to_numpy()]
    if not heads.size or np.bincount(heads).max() < 2:  # each checked cell printed once: the usual case
        return bad, involved
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


def _cell_order(
    cand: np.ndarray, checked: np.ndarray, *, ref: np.ndarray, line: np.ndarray, position: np.ndarray, item: np.ndarray
) -> np.ndarray:
    """Cells by candidate; in each, the checked cell first, then by CellRef, line, template column and item.

    One 64-bit key sorted stably when the values fit in it (they do by far in any batch): three times as fast as
    sorting by six keys. Items come in order within a candidate, which is checked; otherwise all six keys are used.
    """
    line = line.astype(np.int64) + 1  # no line is -1
    ref, position = ref.astype(np.int64), position.astype(np.int64)
    limits = ((cand, 23), (ref, 8), (line, 21), (position, 10))
    if not cand.size or all(a.min() >= 0 and a.max() < 1 << bits for a, bits in limits):
        key = (cand << 40) | ((~checked).astype(np.int64) << 39) | (ref << 31) | (line << 10) | position
        order = np.argsort(key, kind="stable")
        k, i = key[order], item[order]
        if not np.any((k[1:] == k[:-1]) & (i[1:] < i[:-1])):
            return order
    return np.lexsort((item, position, line, ref, ~checked, cand))


def _described_sums(c: Cells, bad: pl.DataFrame, cand, item, checked, *, sign) -> tuple[pl.DataFrame, np.ndarray]:
    """One row per candidate with cells, in order: sums, allowance, precision, the first cell's kind and label, the
    first part's line; and where each candidate's cells start."""
    starts = np.flatnonzero(np.r_[True, cand[1:] != cand[:-1]])
    parts = np.flatnonzero(~checked)
    first_part = parts[np.r_[True, cand[parts][1:] != cand[parts][:-1]]] if parts.size else parts
    part_line = np.full(bad.height, -1, np.int64)
    part_line[cand[first_part]] = c.line[item[first_part]]
    actual, expected, tolerance, printed, decimals, printed_checked = loops_for(item.size).described(
        starts, c.value[item], c.present[item], checked, sign, c.decimals[item]
    )
    frame = (
        pl.DataFrame(
            {
                "cand": cand[starts],
                "actual": actual,
                "expected": expected,
                "tolerance": tolerance,
                "n_values": printed,
                "decimals": decimals,
                "actual_blank": printed_checked == 0,
                "has_checked": checked[starts],
                "part_line": part_line[cand[starts]],
            }
        )
        .hstack(
            # what a kind says from the few kinds, the rest from the items
            c.kinds.select(pl.col("table_id").alias("first_table"), "code", "column_key").gather(c.kind[item[starts]])
        )
        .hstack(c.items.select(pl.col("label").alias("row_label"), "line").gather(item[starts]))
    )
    return frame, starts


def _listed_cells(c: Cells, cand, item, checked, starts) -> pl.DataFrame:
    """Per candidate, its printed cells but the checked one at its head."""
    head = np.zeros(item.size, bool)
    head[starts] = True
    rest = c.present[item] & ~(head & checked)
    return (
        pl.DataFrame({"cand": cand[rest], "cell": c.order[item[rest]]})
        .with_columns(pl.col("cand").set_sorted())
        .group_by("cand", maintain_order=True)
        .agg(pl.col("cell").alias("cells"))
    )


def _part_codes(c: Cells, bad: pl.DataFrame, cand, item, checked) -> pl.DataFrame:
    """Per failing hierarchy candidate, the codes of its parts joined by ' + '."""
    parts = np.flatnonzero(~checked)
    hierarchy = np.flatnonzero((bad.get_column("relation") == "hierarchy").to_numpy())  # not strings to numpy: slow
    in_hierarchy = parts[np.isin(cand[parts], hierarchy)]
    return (
        pl.DataFrame({"cand": cand[in_hierarchy]})
        .hstack(c.kinds.select("code").gather(c.kind[item[in_hierarchy]]))
        .with_columns(pl.col("cand").set_sorted())
        .group_by("cand", maintain_order=True)
        .agg(pl.col("code").alias("part_codes"))  # listed, then joined: twice as fast as joining in the group
        .with_columns(pl.col("part_codes").list.join(" + "))
    )


def _in_comparison_columns(out: pl.DataFrame) -> pl.DataFrame:
    """Described candidates as COMPARISON_COLUMNS: a comparison with no checked cell (an equal rule against a table
    declared empty) says so in its label, and a cross_rows rule names the row it compared with."""
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
    part_line = pl.when(pl.col("part_line") >= 0).then(pl.col("part_line").cast(pl.String)).otherwise(pl.lit("-"))
    other = (
        pl.when(relation == "hierarchy")
        .then(pl.col("part_codes"))
        .when(relation == "cross_rows")
        .then(pl.format("{} line {}", pl.col("other_coded"), part_line))
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


def describe(c: Cells, plan: Plan, bad: pl.DataFrame, involved: pl.DataFrame) -> pl.DataFrame:
    """Candidates compared cell by cell, in COMPARISON_COLUMNS: values, allowance, precision, labels and cells."""
    meta = plan.comparisons.select(
        "comp", "check_id", "relation", "table_id", pl.col("instance").alias("meta_instance"), "side", "column",
        pl.col("code").alias("meta_code"), "other",
        # per comparison, not per failing one: the code a cross_rows rule compares, written into its description
        pl.col("other").str.replace("{code}", pl.col("code"), literal=True).alias("other_coded"),
    )  # fmt: skip
    bad = bad.join(meta, on="comp", how="left", maintain_order="left")
    bad, involved = _each_checked_apart(bad, involved)
    if bad.is_empty():
        return _passing(_no_entries(), plan)
    # the checked cell first, then the parts in the order of their rule, then as printed: by line and template column
    cand, item, checked, sign, ref = (involved.get_column(n).to_numpy() for n in INVOLVED)
    order = _cell_order(cand, checked, ref=ref, line=c.line[item], position=plan.positions[c.kind[item]], item=item)
    cand, item, checked, sign = cand[order], item[order], checked[order], sign[order].astype(np.int64)
    described, starts = _described_sums(c, bad, cand, item, checked, sign=sign)
    out = (
        # `described` has a row per candidate with cells, in order (one split into a comparison per printed total
        # keeps none of its own)
        bad.select("doc", "instance", *meta.columns[1:])
        .gather(described.get_column("cand"))
        .hstack(described)
        .join(_listed_cells(c, cand, item, checked, starts), on="cand", how="left")
        .join(_part_codes(c, bad, cand, item, checked), on="cand", how="left")
    )
    return _in_comparison_columns(out)


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


@dataclass(frozen=True, slots=True)
class RulesRun:
    """Which rules were evaluated at least once in which document of a batch."""

    documents: pl.Series  # sha256 of each row of `matrix`
    check_ids: np.ndarray
    matrix: np.ndarray  # documents × check_ids

    @classmethod
    def none(cls) -> RulesRun:
        return cls(pl.Series("sha256", [], pl.String), np.array([], str), np.zeros((0, 0), bool))

    def by_document(self) -> dict[str, set[str]]:
        return {
            sha: set(self.check_ids[np.flatnonzero(row)].tolist())
            for sha, row in zip(self.documents.to_list(), self.matrix, strict=True)
        }

    def frame(self) -> pl.DataFrame:
        """(sha256, check_id) of every rule that ran."""
        d, k = np.nonzero(self.matrix)
        return pl.DataFrame(
            {"sha256": self.documents.gather(d), "check_id": pl.Series(self.check_ids[k], dtype=pl.String)}
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The comparisons of a batch: described ones, which rules ran in which document, and how many were made."""

    comparisons: pl.DataFrame  # COMPARISON_COLUMNS: every failing one, and with `held` every one that holds
    ran: RulesRun
    compared: int


def evaluate(
    items: pl.DataFrame,
    tables: pl.DataFrame,
    rules: Sequence[Rule],
    conditions: Callable[[Callable[[str, str | None, Sequence[str] | None], tuple[np.ndarray, np.ndarray]]], dict],
    *,
    held: bool = True,
) -> Evaluation:
    """Every place where an identity rule can be evaluated, for all documents at once.

    Failing comparisons carry allowance, precision, labels and cells; with `held`, those that hold are listed too
    (with their values only). `conditions` tells, per document, whether each conditional rule applies, given the
    totals of any rows it asks for (`row_totals`).
    """
    if items.is_empty():
        return Evaluation(pl.DataFrame(schema=COMPARISON_COLUMNS), RulesRun.none(), 0)
    c = cells(items)
    compiled = _compiled(c.kinds, rules)
    plan = compiled.plan
    docs = documents(c, tables, conditions(lambda table, side, keys: row_totals(c, table, side, keys)))
    sums = kind_sums(c, compiled, docs, held=held)
    ok_rows, bad_rows, row_cells, rows_ran, rows_compared = row_sums(c, compiled, docs, held=held)
    bad = pl.concat(
        [sums.failing.with_columns(pl.lit(None, dtype=pl.String).alias("instance")), bad_rows], how="vertical_relaxed"
    )
    involved = pl.concat(
        [
            sums.cells,
            row_cells.with_columns(pl.col("cand") + sums.failing.height).cast(INVOLVED),  # type: ignore[arg-type]
        ]
    )
    parts = [describe(c, plan, bad, involved)]
    if held:
        parts = [_passing(sums.passing, plan), _passing(ok_rows, plan), *parts]
    out = pl.concat(parts, how="vertical_relaxed")
    out = out.select(
        c.names.gather(out.get_column("doc")).alias("sha256"),
        *(pl.col(n).cast(t) for n, t in COMPARISON_COLUMNS.items() if n != "sha256"),
    )
    ran = RulesRun(c.names, plan.check_ids, sums.ran[:, : plan.check_ids.size] | rows_ran)
    return Evaluation(out, ran, sums.compared + rows_compared)
