"""Compiled loops over the line items of a batch: one pass sums every identity of every document.

Each item is visited once and added into the comparisons its kind takes part in (a kind's members, as compressed rows:
the members of kind k are ptr[k]:ptr[k + 1]), a document at a time so that its sums stay in cache. Exact int64
throughout; numba compiles the loops once per machine (`cache=True`) and they run at native speed, where the same work
as array operations re-reads memory many times. Outputs grow only between documents: an array that may be replaced
inside a hot loop keeps numba from optimising that loop.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _slot(key, size):
    return np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)) & (size - 1)


@njit(cache=True, nogil=True)
def _placed(keys, ids, size):
    """The open-addressing table of (keys, ids) rebuilt at another size."""
    new_keys = np.zeros(size, np.uint64)
    new_ids = np.full(size, -1, np.int64)
    for j in range(ids.size):
        if ids[j] >= 0:
            slot = _slot(keys[j], size)
            while new_ids[slot] >= 0:
                slot = (slot + 1) & (size - 1)
            new_keys[slot], new_ids[slot] = keys[j], ids[j]
    return new_keys, new_ids


@njit(cache=True, nogil=True)
def number_distinct(keys):
    """Number each distinct key in order of first appearance: (number of each key, index of each number's first)."""
    size = 1024  # few distinct keys: a small table stays in cache; it doubles when half full
    table_keys = np.zeros(size, np.uint64)
    table_ids = np.full(size, -1, np.int64)
    number = np.empty(keys.size, np.int64)
    first = np.empty(keys.size, np.int64)
    n = 0
    for i in range(keys.size):
        k = keys[i]
        slot = _slot(k, size)
        while table_ids[slot] >= 0 and table_keys[slot] != k:
            slot = (slot + 1) & (size - 1)
        if table_ids[slot] >= 0:
            number[i] = table_ids[slot]
            continue
        table_keys[slot], table_ids[slot] = k, n
        first[n], number[i] = i, n
        n += 1
        if 2 * n > size:
            size *= 2
            table_keys, table_ids = _placed(table_keys, table_ids, size)
    return number, first[:n]


@njit(cache=True, nogil=True)
def kind_totals(bounds, kind, value, column, n_columns):
    """Per document (items bounds[d]:bounds[d + 1]) and kind with a column (≥ 0): Σ |value| and the item count."""
    n_docs = bounds.size - 1
    totals = np.zeros((n_docs, max(n_columns, 1)), np.int64)
    counts = np.zeros((n_docs, max(n_columns, 1)), np.int64)
    for d in range(n_docs):
        for i in range(bounds[d], bounds[d + 1]):
            j = column[kind[i]]
            if j >= 0:
                totals[d, j] += abs(value[i])
                counts[d, j] += 1
    return totals[:, :n_columns], counts[:, :n_columns]


@njit(cache=True, nogil=True)
def described(starts, value, present, checked, sign, decimals):  # noqa: PLR0917
    """Per candidate (cells starts[j]:starts[j + 1], the last to the end): Σ checked values, Σ signed parts, the
    rounding allowance (half a unit of the last printed digit of each printed non-zero value), printed values, the
    finest precision, and printed checked cells."""
    n = starts.size
    actual = np.zeros(n, np.int64)
    expected = np.zeros(n, np.int64)
    tolerance = np.zeros(n, np.int64)
    printed = np.zeros(n, np.int32)
    finest = np.zeros(n, np.int64)
    printed_checked = np.zeros(n, np.int32)
    for j in range(n):
        end = starts[j + 1] if j + 1 < n else value.size
        finest[j] = decimals[starts[j]]
        for x in range(starts[j], end):
            v, p = value[x], present[x]
            finest[j] = max(finest[j], decimals[x])
            if checked[x]:
                actual[j] += v
                printed_checked[j] += p
            else:
                expected[j] += v * sign[x]
            if p:
                printed[j] += 1
                if v != 0:
                    tolerance[j] += 5 * 10 ** max(5 - np.int64(decimals[x]), 0)
    return actual, expected, tolerance, printed, finest, printed_checked


@njit(cache=True, nogil=True)
def _grown(a, size):
    out = np.empty(size, a.dtype)
    out[: a.size] = a
    return out


@njit(cache=True, nogil=True)
def kind_sums(  # noqa: PLR0915, PLR0917
    bounds, kind, value, present, ptr, comp, checked, sign, slot, ref, allowed, summing, ref_ptr, ref_slot, ref_empty,
    check_of, n_checks, every,
):  # fmt: skip
    """Per (document, comparison): Σ checked values and Σ signed part values, and whether the comparison applies.

    The items of document d are bounds[d]:bounds[d + 1]; one document's sums stay in cache. A comparison applies where
    some value of it is printed and `allowed[d, c]`; a sum (`summing`) needs a checked cell and a part; an equal rule
    needs each of its references (ref_ptr[c]:ref_ptr[c + 1]) to have a row there (its `slot`, numbered by the members'
    `slot`) or its table declared empty (`ref_empty[d, r]`). Returns the entries that apply (all of them with `every`,
    else those that fail or whose checked cell is printed twice) as doc, comp, actual, difference, printed values and
    whether the checked cell is blank, and whether each fails; how many apply; which rules ran in which document; and
    the items of the failing entries (numbered among the failing ones), with their role, sign and CellRef (`ref`).
    """
    n_docs, n_comps = bounds.size - 1, allowed.shape[1]
    n_slots = max(slot.max(), 0) + 1 if slot.size else 1
    acc_actual = np.zeros(n_comps, np.int64)
    acc_expected = np.zeros(n_comps, np.int64)
    acc_counts = np.zeros((n_comps, 4), np.int32)  # checked rows, checked printed, part rows, part printed
    found = np.zeros(n_slots, np.int32)
    ran = np.zeros((n_docs, max(n_checks, 1)), np.bool_)
    size = 1024
    out_doc = np.empty(size, np.int64)
    out_comp = np.empty(size, np.int64)
    out_actual = np.empty(size, np.int64)
    out_difference = np.empty(size, np.int64)
    out_printed = np.empty(size, np.int32)
    out_blank = np.empty(size, np.bool_)
    out_failing = np.empty(size, np.bool_)
    cell_size = 1024
    cell_cand = np.empty(cell_size, np.int64)
    cell_item = np.empty(cell_size, np.int64)
    cell_checked = np.empty(cell_size, np.bool_)
    cell_sign = np.empty(cell_size, np.int8)
    cell_ref = np.empty(cell_size, np.int16)
    cand_of = np.full(n_comps, -1, np.int64)  # the failing number of each comparison of the document, else -1
    n = 0
    n_failing = 0
    n_cells = 0
    total = 0
    for d in range(n_docs):
        visits = 0
        failing_before = n_failing
        for i in range(bounds[d], bounds[d + 1]):
            k, v, p = kind[i], value[i], present[i]
            visits += ptr[k + 1] - ptr[k]
            for m in range(ptr[k], ptr[k + 1]):
                c = comp[m]
                if checked[m]:
                    acc_actual[c] += v
                    acc_counts[c, 0] += 1
                    if p:
                        acc_counts[c, 1] += 1
                else:
                    acc_expected[c] += v * sign[m]
                    acc_counts[c, 2] += 1
                    if p:
                        acc_counts[c, 3] += 1
                if slot[m] >= 0:
                    found[slot[m]] += 1
        # room for every comparison of the document: growing inside the loop below would slow all of it threefold
        if n + n_comps > size:
            while n + n_comps > size:
                size *= 2
            out_doc, out_comp = _grown(out_doc, size), _grown(out_comp, size)
            out_actual, out_difference = _grown(out_actual, size), _grown(out_difference, size)
            out_printed, out_blank = _grown(out_printed, size), _grown(out_blank, size)
            out_failing = _grown(out_failing, size)
        for c in range(n_comps):
            rows, printed = acc_counts[c, 0] + acc_counts[c, 2], acc_counts[c, 1] + acc_counts[c, 3]
            if rows == 0:
                continue
            applies = printed > 0 and allowed[d, c]
            if summing[c] and (acc_counts[c, 0] == 0 or acc_counts[c, 2] == 0):
                applies = False
            for r in range(ref_ptr[c], ref_ptr[c + 1]):
                if not ((ref_slot[r] >= 0 and found[ref_slot[r]] > 0) or ref_empty[d, r]):
                    applies = False
            if applies:
                total += 1
                ran[d, check_of[c]] = True
                fails = acc_actual[c] != acc_expected[c] or (summing[c] and acc_counts[c, 0] > 1)
                if every or fails:
                    out_doc[n], out_comp[n], out_actual[n] = d, c, acc_actual[c]
                    out_difference[n] = acc_actual[c] - acc_expected[c]
                    out_printed[n], out_blank[n], out_failing[n] = printed, acc_counts[c, 1] == 0, fails
                    n += 1
                if fails:
                    cand_of[c] = n_failing
                    n_failing += 1
            acc_actual[c] = 0
            acc_expected[c] = 0
            for r in range(4):
                acc_counts[c, r] = 0
        found[:] = 0
        if n_failing == failing_before:
            continue
        # the document's items again (still in cache): those of its failing comparisons
        if n_cells + visits > cell_size:
            while n_cells + visits > cell_size:
                cell_size *= 2
            cell_cand, cell_item = _grown(cell_cand, cell_size), _grown(cell_item, cell_size)
            cell_checked, cell_sign = _grown(cell_checked, cell_size), _grown(cell_sign, cell_size)
            cell_ref = _grown(cell_ref, cell_size)
        for i in range(bounds[d], bounds[d + 1]):
            for m in range(ptr[kind[i]], ptr[kind[i] + 1]):
                if cand_of[comp[m]] >= 0:
                    cell_cand[n_cells], cell_item[n_cells] = cand_of[comp[m]], i
                    cell_checked[n_cells], cell_sign[n_cells], cell_ref[n_cells] = checked[m], sign[m], ref[m]
                    n_cells += 1
        cand_of[:] = -1
    return (
        out_doc[:n],
        out_comp[:n],
        out_actual[:n],
        out_difference[:n],
        out_printed[:n],
        out_blank[:n],
        out_failing[:n],
        total,
        ran,
        (cell_cand[:n_cells], cell_item[:n_cells], cell_checked[:n_cells], cell_sign[:n_cells], cell_ref[:n_cells]),
    )


@njit(cache=True, nogil=True)
def row_sums(  # noqa: PLR0915, PLR0917
    doc, kind, value, present, row_order, table_of, ptr, rule, checked, sign, allowed, blocked, n_tables, every
):
    """Per printed row and columns_sum rule: Σ total-column values against Σ signed part values.

    A row is a run of items of one document, table (instance, numbered by `table_of` per kind) and row order. A row
    applies where some value of it is printed, `allowed[d, r]`, and its (document, table, rule) is not `blocked`
    (sorted keys (d · n_tables + t) · n_rules + r). Returns the rows that apply (all with `every`, else the failing
    ones) as rule, document, table, first item, sums, printed values, printed totals and whether each fails; how many
    apply; which rules ran in which document; the items of the failing rows (numbered among the failing ones) with
    their role and sign; and whether every row's cells came as one run (else the caller sorts the items and calls
    again).
    """
    n_docs, n_rules = allowed.shape
    size = 0  # at most one row, and one listed item, per item and rule it takes part in
    for i in range(doc.size):
        size += ptr[kind[i] + 1] - ptr[kind[i]]
    out_rule = np.empty(size, np.int64)
    out_doc = np.empty(size, np.int64)
    out_table = np.empty(size, np.int64)
    out_first = np.empty(size, np.int64)
    out_actual = np.empty(size, np.int64)
    out_expected = np.empty(size, np.int64)
    out_printed = np.empty(size, np.int32)
    out_total_printed = np.empty(size, np.int32)
    out_failing = np.empty(size, np.bool_)
    cell_cand = np.empty(size, np.int64)
    cell_item = np.empty(size, np.int64)
    cell_checked = np.empty(size, np.bool_)
    cell_sign = np.empty(size, np.int8)
    ran = np.zeros((n_docs, max(n_rules, 1)), np.bool_)
    actual = np.zeros(n_rules, np.int64)
    expected = np.zeros(n_rules, np.int64)
    printed = np.zeros(n_rules, np.int32)
    total_printed = np.zeros(n_rules, np.int32)
    seen = np.zeros(n_rules, np.bool_)
    touched = np.empty(n_rules, np.int64)
    n_touched = 0
    # rows of a table come in increasing order within a document: a row order met again means a row came apart
    last_row = np.full(int(table_of.max()) + 1 if table_of.size else 1, -1, np.int64)
    current_doc = -1
    contiguous = True
    n = 0
    n_failing = 0
    n_cells = 0
    total = 0
    start = 0
    for i in range(doc.size + 1):
        boundary = i == doc.size
        if not boundary and i > start:
            boundary = (
                doc[i] != doc[start] or table_of[kind[i]] != table_of[kind[start]] or row_order[i] != row_order[start]
            )
        if boundary and i > start:
            d, t = doc[start], table_of[kind[start]]
            if d != current_doc:
                last_row[:] = -1
                current_doc = d
            if row_order[start] <= last_row[t]:
                contiguous = False
            last_row[t] = row_order[start]
            for x in range(n_touched):
                r = touched[x]
                applies = printed[r] > 0 and allowed[d, r]
                if applies and blocked.size:
                    key = (d * n_tables + t) * n_rules + r
                    at = np.searchsorted(blocked, key)
                    applies = not (at < blocked.size and blocked[at] == key)
                if applies:
                    total += 1
                    ran[d, r] = True
                    fails = actual[r] != expected[r]
                    if every or fails:
                        out_rule[n], out_doc[n], out_table[n], out_first[n] = r, d, t, start
                        out_actual[n], out_expected[n] = actual[r], expected[r]
                        out_printed[n], out_total_printed[n], out_failing[n] = printed[r], total_printed[r], fails
                        n += 1
                    if fails:  # the row's items that its rule sums
                        for j in range(start, i):
                            for m in range(ptr[kind[j]], ptr[kind[j] + 1]):
                                if rule[m] == r:
                                    cell_cand[n_cells], cell_item[n_cells] = n_failing, j
                                    cell_checked[n_cells], cell_sign[n_cells] = checked[m], sign[m]
                                    n_cells += 1
                        n_failing += 1
                actual[r] = 0
                expected[r] = 0
                printed[r] = 0
                total_printed[r] = 0
                seen[r] = False
            n_touched = 0
            start = i
        if i == doc.size:
            break
        k = kind[i]
        for m in range(ptr[k], ptr[k + 1]):
            r = rule[m]
            if not seen[r]:
                seen[r] = True
                touched[n_touched] = r
                n_touched += 1
            if checked[m]:
                actual[r] += value[i]
                if present[i]:
                    total_printed[r] += 1
            else:
                expected[r] += value[i] * sign[m]
            if present[i]:
                printed[r] += 1
    return (
        (
            out_rule[:n],
            out_doc[:n],
            out_table[:n],
            out_first[:n],
            out_actual[:n],
            out_expected[:n],
            out_printed[:n],
            out_total_printed[:n],
            out_failing[:n],
        ),
        total,
        ran,
        (cell_cand[:n_cells], cell_item[:n_cells], cell_checked[:n_cells], cell_sign[:n_cells]),
        contiguous,
    )
