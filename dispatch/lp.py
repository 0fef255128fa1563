"""A linear programme assembled from arrays, handed to HiGHS in one piece.

Variables and constraints are added in blocks (numpy arrays of indices, bounds and
coefficients), never coefficient by coefficient; :meth:`LinearProgram.to_highs` builds the
column-wise matrix once.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

INF = highspy.kHighsInf


@dataclass
class LinearProgram:
    lower: list[FloatArray] = field(default_factory=list)
    upper: list[FloatArray] = field(default_factory=list)
    n_cols: int = 0
    rows_i: list[IntArray] = field(default_factory=list)
    rows_j: list[IntArray] = field(default_factory=list)
    rows_v: list[FloatArray] = field(default_factory=list)
    row_lower: list[FloatArray] = field(default_factory=list)
    row_upper: list[FloatArray] = field(default_factory=list)
    n_rows: int = 0
    #: name of each block of rows, with its first row and size, to explain infeasibility
    row_blocks: list[tuple[str, int, int]] = field(default_factory=list)
    col_blocks: list[tuple[str, int, int]] = field(default_factory=list)

    def add_vars(
        self, name: str, shape: tuple[int, ...], lower: npt.ArrayLike, upper: npt.ArrayLike
    ) -> IntArray:
        """Add ``prod(shape)`` variables with broadcast bounds; return their indices."""
        n = int(np.prod(shape))
        idx = np.arange(self.n_cols, self.n_cols + n, dtype=np.int64).reshape(shape)
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), shape).ravel())
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), shape).ravel())
        self.col_blocks.append((name, self.n_cols, n))
        self.n_cols += n
        return idx

    def add_rows(
        self,
        name: str,
        n: int,
        terms: list[tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]],
        lower: npt.ArrayLike,
        upper: npt.ArrayLike,
    ) -> IntArray:
        """Add ``n`` rows ``lower <= sum(coef * x[var]) <= upper``.

        Each term is (row offsets 0..n-1, variable indices, coefficients), broadcast together.
        """
        base = self.n_rows
        for r, j, v in terms:
            r_a, j_a, v_a = np.broadcast_arrays(
                np.asarray(r, dtype=np.int64),
                np.asarray(j, dtype=np.int64),
                np.asarray(v, dtype=np.float64),
            )
            self.rows_i.append(r_a.ravel() + base)
            self.rows_j.append(j_a.ravel())
            self.rows_v.append(v_a.ravel())
        self.row_lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)).copy())
        self.row_upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)).copy())
        self.row_blocks.append((name, base, n))
        self.n_rows += n
        return np.arange(base, base + n, dtype=np.int64)

    def col_bounds(self) -> tuple[FloatArray, FloatArray]:
        return np.concatenate(self.lower), np.concatenate(self.upper)

    def matrix(self) -> sp.csc_matrix:
        i = np.concatenate(self.rows_i) if self.rows_i else np.zeros(0, np.int64)
        j = np.concatenate(self.rows_j) if self.rows_j else np.zeros(0, np.int64)
        v = np.concatenate(self.rows_v) if self.rows_v else np.zeros(0)
        return sp.csc_matrix((v, (i, j)), shape=(self.n_rows, self.n_cols))

    def to_highs_lp(self, cost: FloatArray) -> highspy.HighsLp:
        col_lower, col_upper = self.col_bounds()
        return make_highs_lp(
            cost,
            col_lower,
            col_upper,
            self.matrix(),
            np.concatenate(self.row_lower),
            np.concatenate(self.row_upper),
        )

    def row_name(self, row: int) -> tuple[str, int]:
        """The block a row belongs to and its offset in the block."""
        for name, start, n in self.row_blocks:
            if start <= row < start + n:
                return name, row - start
        raise IndexError(row)

    def col_name(self, col: int) -> tuple[str, int]:
        for name, start, n in self.col_blocks:
            if start <= col < start + n:
                return name, col - start
        raise IndexError(col)


def make_highs_lp(
    cost: FloatArray,
    col_lower: FloatArray,
    col_upper: FloatArray,
    a: sp.csc_matrix,
    row_lower: FloatArray,
    row_upper: FloatArray,
) -> highspy.HighsLp:
    """A HighsLp from prebuilt arrays (the same call the benchmark's bare reference makes)."""
    lp = highspy.HighsLp()
    lp.num_col_ = int(a.shape[1])
    lp.num_row_ = int(a.shape[0])
    lp.col_cost_ = np.ascontiguousarray(cost, dtype=np.float64)
    lp.col_lower_ = np.where(np.isinf(col_lower), -INF, col_lower)
    lp.col_upper_ = np.where(np.isinf(col_upper), INF, col_upper)
    lp.row_lower_ = np.where(np.isinf(row_lower), -INF, row_lower)
    lp.row_upper_ = np.where(np.isinf(row_upper), INF, row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(np.float64)
    return lp


_CONSTRUCT = threading.Lock()


def new_highs(threads: int | None = None) -> highspy.Highs:
    """A silent HiGHS instance.

    HiGHS 1.16 prints its banner to file descriptor 1 while constructing, before any option can be
    set (ERGO-Code/HiGHS#2749); that would corrupt a plan written to standard output, so the
    descriptor points at /dev/null for the construction only.
    """
    with _CONSTRUCT:
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
    h.setOptionValue("output_flag", False)
    if threads:
        h.setOptionValue("threads", threads)
    return h
