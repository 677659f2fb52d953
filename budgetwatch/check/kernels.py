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
def _room(needed, size):
    while needed > size:
        size *= 2
    return size


@njit(cache=True, nogil=True)
def _entries(size):
    """Output columns of kind_sums: doc, comp, actual, difference, printed values, checked cell blank, failing."""
    return (
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int32),
        np.empty(size, np.bool_),
        np.empty(size, np.bool_),
    )


@njit(cache=True, nogil=True)
def _grown_entries(out, size):
    return (
        _grown(out[0], size),
        _grown(out[1], size),
        _grown(out[2], size),
        _grown(out[3], size),
        _grown(out[4], size),
        _grown(out[5], size),
        _grown(out[6], size),
    )


@njit(cache=True, nogil=True)
def _cells(size):
    """Cells of failing comparisons: candidate, item, checked, sign, CellRef."""
    return (
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.bool_),
        np.empty(size, np.int8),
        np.empty(size, np.int16),
    )


@njit(cache=True, nogil=True)
def _grown_cells(cells, size):
    return (
        _grown(cells[0], size),
        _grown(cells[1], size),
        _grown(cells[2], size),
        _grown(cells[3], size),
        _grown(cells[4], size),
    )


@njit(cache=True, nogil=True)
def _add_document(lo, hi, kind, value, present, ptr, comp, checked, sign, slot, acc):  # noqa: PLR0917
    """Add items lo:hi into their comparisons' sums (acc: actual, expected, counts, found); the member visits made.

    counts per comparison: checked rows, checked printed, part rows, part printed; found: rows met per slot."""
    acc_actual, acc_expected, acc_counts, found = acc
    visits = 0
    for i in range(lo, hi):
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
    return visits


@njit(cache=True, nogil=True)
def _applies(d, c, acc_counts, found, allowed, summing, ref_ptr, ref_slot, ref_empty):  # noqa: PLR0917
    """Whether comparison c applies in document d: a value printed, allowed, a sum with both sides, each reference
    of an equal rule found or its table declared empty."""
    if acc_counts[c, 1] + acc_counts[c, 3] == 0 or not allowed[d, c]:
        return False
    if summing[c] and (acc_counts[c, 0] == 0 or acc_counts[c, 2] == 0):
        return False
    for r in range(ref_ptr[c], ref_ptr[c + 1]):
        if not ((ref_slot[r] >= 0 and found[ref_slot[r]] > 0) or ref_empty[d, r]):
            return False
    return True


@njit(cache=True, nogil=True)
def _judge_document(d, counters, acc, out, cand_of, rules, ran, every):  # noqa: PLR0917
    """Decide the document's comparisons from their sums, list the entries to report, reset the sums; counters are
    (entries listed, failing, applied) before, and are returned after."""
    n, n_failing, total = counters
    acc_actual, acc_expected, acc_counts, found = acc
    allowed, summing, ref_ptr, ref_slot, ref_empty, check_of = rules
    for c in range(acc_actual.size):
        if acc_counts[c, 0] + acc_counts[c, 2] == 0:
            continue
        if _applies(d, c, acc_counts, found, allowed, summing, ref_ptr, ref_slot, ref_empty):
            total += 1
            ran[d, check_of[c]] = True
            fails = acc_actual[c] != acc_expected[c] or (summing[c] and acc_counts[c, 0] > 1)
            if every or fails:
                out[0][n], out[1][n], out[2][n] = d, c, acc_actual[c]
                out[3][n] = acc_actual[c] - acc_expected[c]
                out[4][n] = acc_counts[c, 1] + acc_counts[c, 3]
                out[5][n], out[6][n] = acc_counts[c, 1] == 0, fails
                n += 1
            if fails:
                cand_of[c] = n_failing
                n_failing += 1
        acc_actual[c] = 0
        acc_expected[c] = 0
        for r in range(4):
            acc_counts[c, r] = 0
    found[:] = 0
    return n, n_failing, total


@njit(cache=True, nogil=True)
def _list_failing_cells(lo, hi, kind, ptr, comp, checked, sign, ref, cand_of, cells, n_cells):  # noqa: PLR0917
    """Items lo:hi (still in cache) of the failing comparisons, appended to cells; the new cell count."""
    for i in range(lo, hi):
        for m in range(ptr[kind[i]], ptr[kind[i] + 1]):
            if cand_of[comp[m]] >= 0:
                cells[0][n_cells], cells[1][n_cells] = cand_of[comp[m]], i
                cells[2][n_cells], cells[3][n_cells], cells[4][n_cells] = checked[m], sign[m], ref[m]
                n_cells += 1
    return n_cells


@njit(cache=True, nogil=True)
def kind_sums(  # noqa: PLR0917
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
    acc = (
        np.zeros(n_comps, np.int64),
        np.zeros(n_comps, np.int64),
        np.zeros((n_comps, 4), np.int32),
        np.zeros(n_slots, np.int32),
    )
    rules = (allowed, summing, ref_ptr, ref_slot, ref_empty, check_of)
    ran = np.zeros((n_docs, max(n_checks, 1)), np.bool_)
    out = _entries(1024)
    cells = _cells(1024)
    cand_of = np.full(n_comps, -1, np.int64)  # the failing number of each comparison of the document, else -1
    counters = (0, 0, 0)
    n_cells = 0
    for d in range(n_docs):
        visits = _add_document(bounds[d], bounds[d + 1], kind, value, present, ptr, comp, checked, sign, slot, acc)
        # room for every comparison of the document: growing while judging would slow all of it threefold
        if counters[0] + n_comps > out[0].size:
            out = _grown_entries(out, _room(counters[0] + n_comps, out[0].size))
        failing_before = counters[1]
        counters = _judge_document(d, counters, acc, out, cand_of, rules, ran, every)
        if counters[1] == failing_before:
            continue
        if n_cells + visits > cells[0].size:
            cells = _grown_cells(cells, _room(n_cells + visits, cells[0].size))
        n_cells = _list_failing_cells(
            bounds[d], bounds[d + 1], kind, ptr, comp, checked, sign, ref, cand_of, cells, n_cells
        )
        cand_of[:] = -1
    n = counters[0]
    return (
        out[0][:n],
        out[1][:n],
        out[2][:n],
        out[3][:n],
        out[4][:n],
        out[5][:n],
        out[6][:n],
        counters[2],
        ran,
        (cells[0][:n_cells], cells[1][:n_cells], cells[2][:n_cells], cells[3][:n_cells], cells[4][:n_cells]),
    )


@njit(cache=True, nogil=True)
def _row_entries(size):
    """Output columns of row_sums: rule, doc, table, first item, actual, expected, printed, printed totals, failing."""
    return (
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int64),
        np.empty(size, np.int32),
        np.empty(size, np.int32),
        np.empty(size, np.bool_),
    )


@njit(cache=True, nogil=True)
def _row_applies(d, t, r, printed, allowed, blocked, n_tables):  # noqa: PLR0917
    applies = printed[r] > 0 and allowed[d, r]
    if applies and blocked.size:
        key = (d * n_tables + t) * allowed.shape[1] + r
        at = np.searchsorted(blocked, key)
        applies = not (at < blocked.size and blocked[at] == key)
    return applies


@njit(cache=True, nogil=True)
def _close_row(start, stop, d, t, state, counters, items, out, cells, every):  # noqa: PLR0917
    """Judge the rules a finished row (items start:stop of document d, table t) took part in and reset their sums;
    counters (entries, failing, cells, applied) are returned updated."""
    actual, expected, printed, total_printed, seen, touched, n_touched, allowed, blocked, n_tables, ran = state
    kind, ptr, rule, checked, sign = items
    n, n_failing, n_cells, total = counters
    for x in range(n_touched):
        r = touched[x]
        if _row_applies(d, t, r, printed, allowed, blocked, n_tables):
            total += 1
            ran[d, r] = True
            fails = actual[r] != expected[r]
            if every or fails:
                out[0][n], out[1][n], out[2][n], out[3][n] = r, d, t, start
                out[4][n], out[5][n] = actual[r], expected[r]
                out[6][n], out[7][n], out[8][n] = printed[r], total_printed[r], fails
                n += 1
            if fails:  # the row's items that its rule sums
                for j in range(start, stop):
                    for m in range(ptr[kind[j]], ptr[kind[j] + 1]):
                        if rule[m] == r:
                            cells[0][n_cells], cells[1][n_cells] = n_failing, j
                            cells[2][n_cells], cells[3][n_cells] = checked[m], sign[m]
                            n_cells += 1
                n_failing += 1
        actual[r] = 0
        expected[r] = 0
        printed[r] = 0
        total_printed[r] = 0
        seen[r] = False
    return n, n_failing, n_cells, total


@njit(cache=True, nogil=True)
def _add_to_row(i, value, present, items, sums, n_touched):  # noqa: PLR0917
    """Add item i into the sums of the rules its kind takes part in; the count of rules the row touched."""
    kind, ptr, rule, checked, sign = items
    actual, expected, printed, total_printed, seen, touched = sums
    for m in range(ptr[kind[i]], ptr[kind[i] + 1]):
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
    return n_touched


@njit(cache=True, nogil=True)
def _rule_sums(n_rules):
    """Per rule of the current row: actual, expected, printed values, printed totals, seen; and the rules touched."""
    return (
        np.zeros(n_rules, np.int64),
        np.zeros(n_rules, np.int64),
        np.zeros(n_rules, np.int32),
        np.zeros(n_rules, np.int32),
        np.zeros(n_rules, np.bool_),
        np.empty(n_rules, np.int64),
    )


@njit(cache=True, nogil=True)
def row_sums(  # noqa: PLR0917
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
    size = (ptr[kind + 1] - ptr[kind]).sum()  # at most one row, and one listed item, per item and rule it is in
    out = _row_entries(size)
    cells = (np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size, np.bool_), np.empty(size, np.int8))
    ran = np.zeros((n_docs, max(n_rules, 1)), np.bool_)
    sums = _rule_sums(n_rules)
    items = (kind, ptr, rule, checked, sign)
    # rows of a table come in increasing order within a document: a row order met again means a row came apart
    last_row = np.full(int(table_of.max()) + 1 if table_of.size else 1, -1, np.int64)
    current_doc = -1
    contiguous = True
    counters = (0, 0, 0, 0)
    n_touched = 0
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
            state = sums + (n_touched, allowed, blocked, n_tables, ran)  # noqa: RUF005 - numba builds tuples so
            counters = _close_row(start, i, d, t, state, counters, items, out, cells, every)
            n_touched = 0
            start = i
        if i == doc.size:
            break
        n_touched = _add_to_row(i, value, present, items, sums, n_touched)
    n, n_cells = counters[0], counters[2]
    return (
        (out[0][:n], out[1][:n], out[2][:n], out[3][:n], out[4][:n], out[5][:n], out[6][:n], out[7][:n], out[8][:n]),
        counters[3],
        ran,
        (cells[0][:n_cells], cells[1][:n_cells], cells[2][:n_cells], cells[3][:n_cells]),
        contiguous,
    )
