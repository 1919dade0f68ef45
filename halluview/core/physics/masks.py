"""Cartesian column masks with fastMRI's names and draws (``fastmri.data.subsample``, version 0.3.0).

Every mask of fastMRI's ``create_mask_for_mask_type`` is here under the same name, and for the same seed (and
offset) it samples exactly the columns fastMRI samples:

========================  ==============================  =====================================================
name                      fastMRI class                   columns outside the fully sampled centre
========================  ==============================  =====================================================
``random``                ``RandomMaskFunc``              each with probability (N/R − n_low) / (N − n_low)
``equispaced``            ``EquiSpacedMaskFunc``          every R-th column from the offset (R an integer)
``equispaced_fraction``   ``EquispacedMaskFractionFunc``  spacing adjusted so that about N/R columns are sampled
``magic``                 ``MagicMaskFunc``               equispaced, with conjugate-symmetric offsets (Defazio)
``magic_fraction``        ``MagicMaskFractionFunc``       ``magic`` with the spacing adjusted to N/R columns
========================  ==============================  =====================================================

N is the number of columns, R the acceleration and n_low = round(N · centre fraction) the centre block of
columns [(N − n_low + 1) // 2, … + n_low). ``full`` (no undersampling) is HalluView's own.

Seeds follow fastMRI's ``MaskFunc.__call__(shape, offset, seed)``: the generator is seeded with ``seed`` (an int or
a sequence of ints, e.g. fastMRI's per-file seed ``tuple(map(ord, file_name))``), then draws the (centre fraction,
acceleration) pair from its one-element lists, then the columns. ``offset`` (equispaced and magic masks) is the
first sampled column; None draws it, as fastMRI does.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

Seed = int | Sequence[int] | None


class SampledMask(NamedTuple):
    """A column mask and the centre size fastMRI's mask functions return with it.

    Attributes
    ----------
    columns : np.ndarray
        Bool (N,): sampled phase-encoding columns.
    num_low_frequencies : int or None
        Columns in the fully sampled centre (what fastMRI's VarNet receives); None for ``full``.
    """

    columns: np.ndarray
    num_low_frequencies: int | None


def num_low_frequencies(num_cols: int, center_fraction: float) -> int:
    """fastMRI's centre size: ``round(num_cols * center_fraction)`` (Python's round, halves to even)."""
    return round(num_cols * center_fraction)


def center_columns(num_cols: int, num_low: int) -> np.ndarray:
    """Bool (N,) with fastMRI's centre block [(N − n_low + 1) // 2, … + n_low) set."""
    mask = np.zeros(num_cols, dtype=bool)
    start = (num_cols - num_low + 1) // 2
    mask[start:start + num_low] = True
    return mask


def _integer_acceleration(kind: str, acceleration: float) -> int:
    if float(acceleration) != int(acceleration):
        raise ValueError(f"the {kind} mask samples every R-th column and needs an integer acceleration, "
                         f"not {acceleration:g}; use equispaced_fraction or magic_fraction")
    return int(acceleration)


def _random(rng: np.random.RandomState, n: int, n_low: int, accel: float, offset: int | None) -> np.ndarray:
    prob = (n / accel - n_low) / (n - n_low)
    return rng.uniform(size=n) < prob


def _equispaced(rng: np.random.RandomState, n: int, n_low: int, accel: float, offset: int | None) -> np.ndarray:
    step = _integer_acceleration("equispaced", accel)
    if offset is None:
        offset = rng.randint(0, high=round(accel))
    mask = np.zeros(n, dtype=bool)
    mask[offset::step] = True
    return mask


def _equispaced_fraction(rng: np.random.RandomState, n: int, n_low: int, accel: float,
                         offset: int | None) -> np.ndarray:
    if n_low * accel >= n:
        raise ValueError(f"the centre of {n_low} columns already holds 1/{accel:g} of the {n} columns; "
                         "lower the centre fraction or the acceleration")
    adjusted = (accel * (n_low - n)) / (n_low * accel - n)  # spacing that brings the total to about N / R
    if offset is None:
        offset = rng.randint(0, high=round(adjusted))
    mask = np.zeros(n, dtype=bool)
    mask[np.around(np.arange(offset, n - 1, adjusted)).astype(np.uint)] = True
    return mask


def _magic(rng: np.random.RandomState, n: int, n_low: int, accel: float, offset: int | None) -> np.ndarray:
    step = _integer_acceleration("magic", accel)
    if offset is None:
        offset = rng.randint(0, high=step)
    # Offsets of the positive and negative halves differ so that conjugate symmetry fills in the missing lines.
    offset_pos, offset_neg = (offset + 1, offset + 2) if offset % 2 == 0 else (offset + 2, offset - 1)
    positive = np.zeros((n + 1) // 2, dtype=bool)
    negative = np.zeros(n - (n + 1) // 2, dtype=bool)
    positive[offset_pos::step] = True
    negative[offset_neg::step] = True
    return np.fft.fftshift(np.concatenate((positive, negative[::-1])))


def _magic_fraction_sizes(n: int, center_fraction: float, accel: float) -> tuple[int, int]:
    """(n_low, spacing) of fastMRI's MagicMaskFractionFunc: the centre bounded to [1, round(N/R)] columns."""
    target = round(n / accel)
    n_low = max(min(num_low_frequencies(n, center_fraction), target), 1)
    if target - n_low <= 0:
        raise ValueError(f"magic_fraction: the centre of {n_low} columns already holds the {target} columns of "
                         f"{n}/{accel:g}; lower the centre fraction or the acceleration")
    return n_low, round(n / (target - n_low))


MaskDraw = Callable[[np.random.RandomState, int, int, float, int | None], np.ndarray]

#: Columns outside the centre, by fastMRI's mask name: f(rng, N, n_low, R, offset) -> bool (N,).
MASKS: dict[str, MaskDraw] = {"random": _random, "equispaced": _equispaced,
                              "equispaced_fraction": _equispaced_fraction, "magic": _magic,
                              "magic_fraction": _magic}

#: Every name :func:`make_mask` accepts, fastMRI's first.
MASK_CHOICES: tuple[str, ...] = (*MASKS, "full")


def _check_settings(kind: str, num_cols: int, center_fraction: float, acceleration: float,
                    offset: int | None) -> None:
    if kind not in MASK_CHOICES:
        raise ValueError(f"unknown mask type {kind!r}; choose one of {', '.join(MASK_CHOICES)}")
    if num_cols < 1:
        raise ValueError(f"a mask needs at least one column, not {num_cols}")
    if not 0 <= center_fraction < 1:
        raise ValueError(f"the centre fraction must be in [0, 1), not {center_fraction:g}")
    if not acceleration >= 1:
        raise ValueError(f"the acceleration must be at least 1, not {acceleration:g}")
    if offset is not None and offset < 0:
        raise ValueError(f"the mask offset must be >= 0, not {offset}")


def sample_mask(kind: str, num_cols: int, center_fraction: float = 0.08, acceleration: float = 4.0,
                seed: Seed = 0, offset: int | None = None) -> SampledMask:
    """The column mask fastMRI's ``create_mask_for_mask_type(kind, [center_fraction], [acceleration])`` draws.

    Parameters
    ----------
    kind : str
        One of :data:`MASK_CHOICES`.
    num_cols : int
        Phase-encoding columns N (k-space width).
    center_fraction : float
        Share of the columns in the fully sampled centre.
    acceleration : float
        R; an integer for ``equispaced`` and ``magic``.
    seed : int, sequence of int or None
        Seeds the ``np.random.RandomState`` the draws come from (None: fresh entropy).
    offset : int, optional
        First sampled column of the equispaced and magic patterns; None draws it.

    Returns
    -------
    SampledMask
        The bool (N,) mask and fastMRI's ``num_low_frequencies``.

    Raises
    ------
    ValueError
        For an unknown name or settings fastMRI cannot sample (a centre that already exceeds N/R, a fractional R
        for an equispaced or magic mask).
    """
    _check_settings(kind, num_cols, center_fraction, acceleration, offset)
    if kind == "full":
        return SampledMask(np.ones(num_cols, dtype=bool), None)
    rng = np.random.RandomState(seed)
    rng.randint(1)  # fastMRI first picks the (centre fraction, acceleration) pair from its lists
    if kind == "magic_fraction":
        n_low, acceleration = _magic_fraction_sizes(num_cols, center_fraction, acceleration)
    else:
        n_low = num_low_frequencies(num_cols, center_fraction)
    if kind == "random" and n_low >= num_cols:
        raise ValueError(f"the centre of {n_low} columns covers all {num_cols}; lower the centre fraction")
    outer = MASKS[kind](rng, num_cols, n_low, acceleration, offset)
    return SampledMask(center_columns(num_cols, n_low) | outer, n_low)


def make_mask(kind: str, num_cols: int, center_fraction: float = 0.08, acceleration: float = 4.0,
              seed: Seed = 0, offset: int | None = None) -> np.ndarray:
    """Bool (N,) column mask by name: fastMRI's masks (see :func:`sample_mask`) or ``full``."""
    return sample_mask(kind, num_cols, center_fraction, acceleration, seed, offset).columns
