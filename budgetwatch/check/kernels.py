"""Loops over the line items of a batch: one pass sums every identity of every document.

Each item is visited once and added into the comparisons its kind takes part in (a kind's members, as compressed rows:
the members of kind k are ptr[k]:ptr[k + 1]), a document at a time so that its sums stay in cache. Exact int64
throughout. The loops are written for numba (`compiled_kernels` compiles them and they run at native speed, where the
same work as array operations re-reads memory many times) and run as they are, as Python, for a small batch in a
process that has not loaded numba (`evaluate.loops_for`). Outputs grow only between documents: an array that may be
replaced inside a hot loop keeps numba from optimising that loop. The steps of the two sums take their arrays one by
one: passed as tuples, or called per comparison, they made the sums four to thirteen times slower.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# the loops numba compiles, by name, with their options (`compiled_kernels`)
LOOPS: dict[str, dict[str, str]] = {}


def loop(function: Callable | None = None, *, inline: bool = False) -> Callable:
    """Mark a function as one of the loops (inlined into its callers when compiled, with `inline`)."""

    def mark(f: Callable) -> Callable:
        LOOPS[f.__name__] = {"inline": "always"} if inline else {}
        return f

    return mark(function) if function is not None else mark


@loop
def _slot(key, size):
    return np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(32)) & (size - 1)


@loop
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


@loop
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


@loop
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


@loop
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


@loop
def _grown(a, size):
    out = np.empty(size, a.dtype)
    out[: a.size] = a
    return out


@loop
def _grown_rows(a, size):
    """A 2-D array with room for `size` columns, the old ones copied."""
    out = np.empty((a.shape[0], size), a.dtype)
    out[:, : a.shape[1]] = a
    return out


@loop
def _room(needed, size):
    while needed > size:
        size *= 2
    return size


@loop
def _add_document(  # noqa: PLR0917
    lo, hi, kind, value, present, ptr, comp, checked, sign, slot, actual, expected, counts, found
):  # fmt: skip
    """Add items lo:hi into their comparisons' sums and counts (checked rows, checked printed, part rows, part
    printed), and count the rows met per reference slot; returns the member visits made."""
    visits = 0
    for i in range(lo, hi):
        k, v, p = kind[i], value[i], present[i]
        visits += ptr[k + 1] - ptr[k]
        for m in range(ptr[k], ptr[k + 1]):
            c = comp[m]
            if checked[m]:
                actual[c] += v
                counts[c, 0] += 1
                if p:
                    counts[c, 1] += 1
            else:
                expected[c] += v * sign[m]
                counts[c, 2] += 1
                if p:
                    counts[c, 3] += 1
            if slot[m] >= 0:
                found[slot[m]] += 1
    return visits


@loop
def _judge_document(  # noqa: PLR0917
    d, n, n_failing, actual, expected, counts, found, allowed, summing, check_of, ref_ptr, ref_slot, ref_empty, ran,
    every, cand_of, ints, printed_out, flags,
):  # fmt: skip
    """Decide document d's comparisons from their sums: each applies where a value is printed, it is `allowed`, a sum
    has both sides and each reference of an equal rule is found or declared empty. Entries to report go to `ints`
    (document, comparison, actual, difference), `printed_out` and `flags` (checked cell blank, failing); the sums are
    reset. Returns the entries listed, the failing ones and how many applied."""
    total = 0
    for c in range(actual.size):
        rows, printed = counts[c, 0] + counts[c, 2], counts[c, 1] + counts[c, 3]
        if rows == 0:
            continue
        applies = printed > 0 and allowed[d, c]
        if summing[c] and (counts[c, 0] == 0 or counts[c, 2] < summing[c]):
            applies = False
        for r in range(ref_ptr[c], ref_ptr[c + 1]):
            if not ((ref_slot[r] >= 0 and found[ref_slot[r]] > 0) or ref_empty[d, r]):
                applies = False
        if applies:
            total += 1
            ran[d, check_of[c]] = True
            fails = actual[c] != expected[c] or (summing[c] and counts[c, 0] > 1)
            if every or fails:
                ints[0, n], ints[1, n], ints[2, n], ints[3, n] = d, c, actual[c], actual[c] - expected[c]
                printed_out[n], flags[0, n], flags[1, n] = printed, counts[c, 1] == 0, fails
                n += 1
            if fails:
                cand_of[c] = n_failing
                n_failing += 1
        actual[c] = 0
        expected[c] = 0
        for r in range(4):
            counts[c, r] = 0
    found[:] = 0
    return n, n_failing, total


@loop
def _list_failing_cells(  # noqa: PLR0917
    lo, hi, kind, ptr, comp, checked, sign, ref, cand_of, n_cells, cell_ints, cell_checked, cell_sign, cell_ref
):  # fmt: skip
    """Items lo:hi (still in cache) of the failing comparisons, appended to the cells (candidate and item, checked,
    sign, CellRef); returns the new cell count."""
    for i in range(lo, hi):
        for m in range(ptr[kind[i]], ptr[kind[i] + 1]):
            if cand_of[comp[m]] >= 0:
                cell_ints[0, n_cells], cell_ints[1, n_cells] = cand_of[comp[m]], i
                cell_checked[n_cells], cell_sign[n_cells], cell_ref[n_cells] = checked[m], sign[m], ref[m]
                n_cells += 1
    cand_of[:] = -1
    return n_cells


@loop
def kind_sums(  # noqa: PLR0917
    bounds, kind, value, present, ptr, comp, checked, sign, slot, ref, allowed, summing, ref_ptr, ref_slot, ref_empty,
    check_of, n_checks, every,
):  # fmt: skip
    """Per (document, comparison): Σ checked values and Σ signed part values, and whether the comparison applies.

    The items of document d are bounds[d]:bounds[d + 1]; one document's sums stay in cache. A comparison applies where
    some value of it is printed and `allowed[d, c]`; a sum needs a checked cell and `summing[c]` part rows; an equal
    rule needs each of its references (ref_ptr[c]:ref_ptr[c + 1]) to have a row there (its `slot`, numbered by the
    members' `slot`) or its table declared empty (`ref_empty[d, r]`). Returns the entries that apply (all of them with
    `every`, else those that fail or whose checked cell is printed twice) as doc, comp, actual, difference, printed
    values and whether the checked cell is blank, and whether each fails; how many apply; which rules ran in which
    document; and the items of the failing entries (numbered among the failing ones), with their role, sign and
    CellRef (`ref`).
    """
    n_docs, n_comps = bounds.size - 1, allowed.shape[1]
    actual, expected = np.zeros(n_comps, np.int64), np.zeros(n_comps, np.int64)
    counts = np.zeros((n_comps, 4), np.int32)
    found = np.zeros(max(slot.max(), 0) + 1 if slot.size else 1, np.int32)
    ran = np.zeros((n_docs, max(n_checks, 1)), np.bool_)
    ints, printed, flags = np.empty((4, 1024), np.int64), np.empty(1024, np.int32), np.empty((2, 1024), np.bool_)
    cell_ints, cell_checked = np.empty((2, 1024), np.int64), np.empty(1024, np.bool_)
    cell_sign, cell_ref = np.empty(1024, np.int8), np.empty(1024, np.int16)
    cand_of = np.full(n_comps, -1, np.int64)  # the failing number of each comparison of the document, else -1
    n = n_failing = n_cells = total = 0
    for d in range(n_docs):
        lo, hi = bounds[d], bounds[d + 1]
        visits = _add_document(lo, hi, kind, value, present, ptr, comp, checked, sign, slot, actual, expected, counts,
                               found)  # fmt: skip
        if n + n_comps > printed.size:  # room for every comparison of the document before judging it
            size = _room(n + n_comps, printed.size)
            ints, printed, flags = _grown_rows(ints, size), _grown(printed, size), _grown_rows(flags, size)
        before = n_failing
        n, n_failing, applied = _judge_document(
            d, n, n_failing, actual, expected, counts, found, allowed, summing, check_of, ref_ptr, ref_slot, ref_empty,
            ran, every, cand_of, ints, printed, flags,
        )  # fmt: skip
        total += applied
        if n_failing == before:
            continue
        if n_cells + visits > cell_checked.size:  # the document's items again (still in cache): its failing ones'
            size = _room(n_cells + visits, cell_checked.size)
            cell_ints, cell_checked = _grown_rows(cell_ints, size), _grown(cell_checked, size)
            cell_sign, cell_ref = _grown(cell_sign, size), _grown(cell_ref, size)
        n_cells = _list_failing_cells(lo, hi, kind, ptr, comp, checked, sign, ref, cand_of, n_cells, cell_ints,
                                      cell_checked, cell_sign, cell_ref)  # fmt: skip
    entries = (ints[0, :n], ints[1, :n], ints[2, :n], ints[3, :n], printed[:n], flags[0, :n], flags[1, :n])
    listed = (cell_ints[0, :n_cells], cell_ints[1, :n_cells], cell_checked[:n_cells], cell_sign[:n_cells],
              cell_ref[:n_cells])  # fmt: skip
    return (*entries, total, ran, listed)


@loop
def _row_outputs(size, n_docs, n_rules):
    """Room for `size` rows listed (rule, document, table, first item, actual, expected; printed values and printed
    totals; failing) and as many items of failing rows (failing number and item; checked; sign); which rules ran."""
    rows = (np.empty((6, size), np.int64), np.empty((2, size), np.int32), np.empty(size, np.bool_))
    cells = (np.empty((2, size), np.int64), np.empty(size, np.bool_), np.empty(size, np.int8))
    return rows, cells, np.zeros((n_docs, max(n_rules, 1)), np.bool_)


@loop
def _trimmed_rows(rows, cells, n, n_cells):
    ints, counts, failing = rows
    entries = (ints[0, :n], ints[1, :n], ints[2, :n], ints[3, :n], ints[4, :n], ints[5, :n], counts[0, :n],
               counts[1, :n], failing[:n])  # fmt: skip
    return entries, (cells[0][0, :n_cells], cells[0][1, :n_cells], cells[1][:n_cells], cells[2][:n_cells])


@loop
def _rule_state(n_rules):
    """Per rule, over the current row: actual, expected, printed values, printed totals, seen; and the rules touched."""
    sums = (np.zeros(n_rules, np.int64), np.zeros(n_rules, np.int64))
    counts = (np.zeros(n_rules, np.int32), np.zeros(n_rules, np.int32))
    return sums[0], sums[1], counts[0], counts[1], np.zeros(n_rules, np.bool_), np.empty(n_rules, np.int64)


@loop(inline=True)
def _row_in_order(last_row, current_doc, d, t, order):
    """Rows of a table come in increasing order within a document: a row order met again means a row came apart.
    Returns the document now current and whether the row is in order."""
    if d != current_doc:
        last_row[:] = -1
    in_order = order > last_row[t]
    last_row[t] = order
    return d, in_order


@loop
def row_sums(  # noqa: PLR0917
    doc, kind, value, present, row_order, table_of, ptr, rule, checked, sign, allowed, blocked, n_tables, every
):
    """Per printed row and columns_sum rule: Σ total-column values against Σ signed part values.

    A row is a run of items of one document, table (instance, `table_of` per kind) and row order; it applies where a
    value is printed, `allowed[d, r]`, and (document, table, rule) is not `blocked` (sorted keys (d · n_tables + t) ·
    n_rules + r). Returns the rows that apply (all with `every`, else the failing), how many apply, which rules ran
    where, the failing rows' items with role and sign, and whether each row came as one run (else the caller sorts
    and calls again). Judging stays in the loop: called per row it took twice as long."""
    n_rules = allowed.shape[1]
    rows, cells, ran = _row_outputs((ptr[kind + 1] - ptr[kind]).sum(), allowed.shape[0], n_rules)
    (ints, counts, failing), (cell_ints, cell_checked, cell_sign) = rows, cells
    actual, expected, printed, total_printed, seen, touched = _rule_state(n_rules)
    last_row = np.full(int(table_of.max()) + 1 if table_of.size else 1, -1, np.int64)
    current_doc, contiguous = -1, True
    n = n_failing = n_cells = total = n_touched = start = 0
    for i in range(doc.size + 1):
        same = i < doc.size and doc[i] == doc[start] and table_of[kind[i]] == table_of[kind[start]]
        if i > start and not (same and row_order[i] == row_order[start]):
            d, t = doc[start], table_of[kind[start]]
            current_doc, in_order = _row_in_order(last_row, current_doc, d, t, row_order[start])
            contiguous = contiguous and in_order
            for x in range(n_touched):
                r = touched[x]
                applies = printed[r] > 0 and allowed[d, r]
                if applies and blocked.size:
                    at = np.searchsorted(blocked, (d * n_tables + t) * n_rules + r)
                    applies = not (at < blocked.size and blocked[at] == (d * n_tables + t) * n_rules + r)
                fails = actual[r] != expected[r]
                if applies:
                    total += 1
                    ran[d, r] = True
                if applies and (every or fails):
                    ints[0, n], ints[1, n], ints[2, n] = r, d, t
                    ints[3, n], ints[4, n], ints[5, n] = start, actual[r], expected[r]
                    counts[0, n], counts[1, n], failing[n] = printed[r], total_printed[r], fails
                    n += 1
                for j in range(start, i if applies and fails else start):  # the failing row's items its rule sums
                    for m in range(ptr[kind[j]], ptr[kind[j] + 1]):
                        if rule[m] == r:
                            cell_ints[0, n_cells], cell_ints[1, n_cells] = n_failing, j
                            cell_checked[n_cells], cell_sign[n_cells] = checked[m], sign[m]
                            n_cells += 1
                n_failing += applies and fails
                actual[r] = expected[r] = printed[r] = total_printed[r] = 0
                seen[r] = False
            n_touched, start = 0, i
        for m in range(ptr[kind[i]], ptr[kind[i] + 1]) if i < doc.size else range(0):
            r = rule[m]
            if not seen[r]:
                seen[r], touched[n_touched], n_touched = True, r, n_touched + 1
            if checked[m]:
                actual[r] += value[i]
                total_printed[r] += present[i]
            else:
                expected[r] += value[i] * sign[m]
            printed[r] += present[i]
    entries, listed = _trimmed_rows(rows, cells, n, n_cells)
    return entries, total, ran, listed, contiguous
