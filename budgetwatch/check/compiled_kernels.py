"""The loops of `kernels` compiled by numba: native speed, once a process has loaded them.

numba compiles each loop once per machine and code version and keeps it on disk (`cache=True`: beside the source,
or in the user's cache folder when the package folder is read-only). Importing numba and loading the loops still
costs a fresh process about 0.7 s, more than the plain loops take over a few reports (`evaluate.loops_for`).
"""

from __future__ import annotations

import types

from numba import njit

from budgetwatch.check import kernels


def _compiled() -> dict[str, object]:
    """kernels' namespace with each loop compiled; a loop's copy looks its callees up here, so that compiled loops
    call compiled loops."""
    namespace = dict(vars(kernels))
    for name, options in kernels.LOOPS.items():
        plain = getattr(kernels, name)
        copy = types.FunctionType(plain.__code__, namespace, name, plain.__defaults__, plain.__closure__)
        copy.__qualname__, copy.__module__, copy.__doc__ = plain.__qualname__, plain.__module__, plain.__doc__
        namespace[name] = njit(cache=True, nogil=True, **options)(copy)
    return namespace


_LOOPS = _compiled()
number_distinct = _LOOPS["number_distinct"]
kind_totals = _LOOPS["kind_totals"]
described = _LOOPS["described"]
kind_sums = _LOOPS["kind_sums"]
row_sums = _LOOPS["row_sums"]
