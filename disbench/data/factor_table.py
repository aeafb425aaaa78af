"""A table of factor values (one row per image) turned into disbench's factor grid.

A dataset from files lists, for each image, the value of every factor: numbers, strings or
booleans. disbench lays them out as a grid: each factor takes ``f_i`` discrete values, and each
combination of values has at most one image. A combination with none is *missing*: the analysis
works around it, training needs the full grid (``GroundTruthData.require_full_grid``).
:func:`factor_grid` checks the table (naming what is wrong and how to fix it) and maps each
factor's values to the indices ``0 .. f_i - 1``, in
increasing order of the values (numbers numerically, strings alphabetically) unless an explicit
order is given. Ground-truth distances are differences of these indices (paper.md §1.2), so a
categorical factor's order only matters to the analysis's correlations, not to training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from disbench.error import DataError, did_you_mean

FEW_VALUES = 10  # up to this many distinct values, a factor is never called continuous (a sparse grid is told apart below)
MAX_COMBINATIONS_PER_ROW = 100  # more combinations than this per image: the factors are no grid (and the index would not fit in memory)


@dataclass(frozen=True)
class FactorGrid:
    """Factor names, their ordered values, and the table row of every grid point.

    ``rows[k]`` is the row holding the grid point with flat index ``k`` (row-major, last factor
    fastest, as ``GroundTruthData.idx_to_factors``), or -1 where that combination has no image.
    """

    names: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    rows: np.ndarray
    categorical: tuple[str, ...] = ()  # factors of strings given no order

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.values)

    @property
    def missing(self) -> int:
        """How many factor combinations have no image."""
        return int((self.rows < 0).sum())


def select_columns(columns: Sequence[str], wanted: Sequence[str] | None, exclude: Sequence[str], source: str) -> list[str]:
    """The factor columns: ``wanted`` (each must exist) or every column not in ``exclude``."""
    if wanted is None:
        chosen = [c for c in columns if c not in exclude]
    else:
        chosen = list(wanted)
        for name in chosen:
            if name not in columns:
                raise DataError(f"{source} has no column {name!r}.{did_you_mean(name, columns, n=1)} Its columns are {', '.join(map(str, columns))}.")
        if len(set(chosen)) < len(chosen):
            raise DataError(f"A factor is named twice in {list(chosen)}; name each factor column once.")
    if not chosen:
        raise DataError(f"{source} has no factor columns: it needs one column per factor besides {', '.join(exclude) or 'the images'}.")
    return chosen


def _display(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _codes(name: str, column: np.ndarray, order: Sequence[Any] | None, source: str) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Index of each row's value in the factor's ordered values, and those values."""
    if order is not None:
        position = {str(v): i for i, v in enumerate(order)}
        if len(position) < len(order):
            raise DataError(f"The order given for factor {name!r} names a value twice: {list(order)}.")
        as_text = np.array([str(v) for v in column], dtype=object)
        unknown = sorted({v for v in as_text if v not in position})
        if unknown:
            raise DataError(f"Factor {name!r} has values {unknown[:5]} that its given order {list(order)} lacks; add them to the order.")
        codes = np.array([position[v] for v in as_text], dtype=np.int64)
        unused = [v for v, i in position.items() if not (codes == i).any()]
        if unused:
            raise DataError(f"The order given for factor {name!r} names values no row has: {unused[:5]}; remove them.")
        return codes, tuple(order)
    try:
        values, codes = np.unique(column, return_inverse=True)
    except TypeError:  # mixed types (numbers and strings) cannot be sorted together: order them as text
        values, codes = np.unique(column.astype(str), return_inverse=True)
    return codes.reshape(-1).astype(np.int64), tuple(_display(v) for v in values)


def _check_column(name: str, column: np.ndarray, source: str) -> None:
    missing = np.flatnonzero([v is None or (isinstance(v, float) and np.isnan(v)) for v in column]) if column.dtype == object else (
        np.flatnonzero(np.isnan(column)) if column.dtype.kind == "f" else np.zeros(0, dtype=int))
    if missing.size:
        raise DataError(f"Factor {name!r} has no value in {missing.size} row(s) of {source}, first at row {int(missing[0])}; every image needs every factor.")
    if column.dtype.kind == "c":
        raise DataError(f"Factor {name!r} holds complex numbers; factors must be discrete values (integers, strings or rounded numbers).")


def factor_grid(columns: Mapping[str, np.ndarray], source: str, order: Mapping[str, Sequence[Any]] | None = None) -> FactorGrid:
    """Check that ``columns`` (factor name -> one value per row) form a grid; map them to indices.

    Errors name the problem and the fix: a continuous column, a constant one, a combination given
    twice, or so few of the combinations present that the factors are no grid at all.
    """
    order = dict(order or {})
    unknown = sorted(set(order) - set(columns))
    if unknown:
        raise DataError(f"An order is given for {unknown[0]!r}, which is not a factor.{did_you_mean(unknown[0], columns, n=1)} Factors: {', '.join(columns)}.")
    names = tuple(columns)
    rows = len(next(iter(columns.values())))
    if rows == 0:
        raise DataError(f"{source} has no rows; it needs one row per image.")
    codes, values, categorical = [], [], []
    for name in names:
        column = np.asarray(columns[name])
        if column.ndim != 1:
            raise DataError(f"Factor {name!r} must hold one value per row, got an array of shape {column.shape}.")
        _check_column(name, column, source)
        c, v = _codes(name, column, order.get(name), source)
        if len(v) == 1:
            raise DataError(f"Factor {name!r} has the same value ({v[0]!r}) in every row; it is not a factor: leave it out by naming the factors "
                            "(factors=[...], --factors).")
        if len(names) > 1 and len(v) > max(rows / 2, FEW_VALUES):  # a full grid has at most rows / 2 (another factor has 2+ values)
            raise DataError(
                f"Factor {name!r} looks continuous: {len(v):,} distinct values in {rows:,} rows. Factors must be discrete, each value shared "
                "by many images; round or bin it into a few levels (e.g. pandas.cut), or leave it out by naming the factors (factors=[...], --factors)."
            )
        codes.append(c)
        values.append(v)
        if name not in order and column.dtype.kind in "OUS":
            categorical.append(name)
    return FactorGrid(names, tuple(values), _grid_rows(names, values, np.stack(codes, axis=1), source), tuple(categorical))


def _grid_rows(names: tuple[str, ...], values: list[tuple[Any, ...]], codes: np.ndarray, source: str) -> np.ndarray:
    """The row of each grid point (-1 where no row has it); raise if a combination is given twice,
    or if fewer than ``1 / MAX_COMBINATIONS_PER_ROW`` of the combinations have a row."""
    sizes = tuple(len(v) for v in values)
    total = int(np.prod(sizes, dtype=np.float64))
    if total > MAX_COMBINATIONS_PER_ROW * len(codes):
        raise DataError(
            f"The factors' {' x '.join(map(str, sizes))} = {total:,} combinations are over {MAX_COMBINATIONS_PER_ROW} times the {len(codes):,} rows of "
            f"{source}: the factors hardly form a grid. Check the factor columns; bin factors with many values into a few levels (e.g. pandas.cut), "
            "or leave some out (factors=[...], --factors)."
        )
    flat = np.ravel_multi_index(tuple(codes.T), sizes)
    rows = np.full(total, -1, dtype=np.int64)
    order = np.argsort(flat, kind="stable")
    first_of_pair = np.flatnonzero(flat[order][1:] == flat[order][:-1])
    if first_of_pair.size:
        a, b = int(order[first_of_pair[0]]), int(order[first_of_pair[0] + 1])
        combination = ", ".join(f"{n}={values[i][codes[a, i]]!r}" for i, n in enumerate(names))
        raise DataError(
            f"Rows {a} and {b} of {source} have the same factors ({combination}); each combination must have one image. "
            "If something else varies between them, add it as a factor column."
        )
    rows[flat] = np.arange(len(flat))
    return rows
