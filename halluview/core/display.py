"""How signed differences look, everywhere: one diverging colour table and the symmetric scale of a running attack.

The app's difference panel (``gui/colormaps.py`` derives its pyqtgraph map from :func:`diverging_lut`), the
exported figure (``core/figure.py``) and the HTML report all colour a difference with :func:`diverging_rgb`, so a
pixel has the same colour on screen, in a paper and in a report.

The table maps a value ``v`` shown over ``±limit`` to entry ``floor((v + limit) · N / (2 · limit))`` of its
``N`` entries, clipped to the ends: pyqtgraph's own rule for levels ``(-limit, limit)``. ``N`` is odd, so 0 lands
on the middle entry, neutral grey, which reads as "no change" on the app's dark theme and on a white page.
"""
from __future__ import annotations

import numpy as np

ACCENT = "#ffb000"  # the drawn region's outline: on every panel, in figures and reports
N_DIVERGING = 255
# (position in [0, 1], RGB): blue (perturbed darker) – neutral grey (no change) – red (perturbed brighter);
# bright ends so that small changes stand out on a dark background.
DIVERGING_STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (40, 110, 255)),
    (0.5, (128, 128, 128)),
    (1.0, (255, 60, 40)),
)

ROBUST_PERCENTILE = 99.5  # |Δ| percentile that sets a difference scale: one hot pixel does not set it
MIN_LIMIT = 1e-12  # a scale is never 0 (an all-zero difference still maps to grey)


def diverging_lut(n_entries: int = N_DIVERGING) -> np.ndarray:
    """The diverging colour table: (``n_entries``, 3) uint8, entry 0 for ``-limit``, the last for ``+limit``."""
    if n_entries < 3 or n_entries % 2 == 0:
        raise ValueError(f"the diverging table needs an odd number of entries ≥ 3 (0 in the middle), "
                         f"not {n_entries}")
    positions = np.linspace(0.0, 1.0, n_entries)
    stops = np.array([p for p, _ in DIVERGING_STOPS])
    colours = np.array([c for _, c in DIVERGING_STOPS], dtype=np.float64)
    table = np.stack([np.interp(positions, stops, colours[:, k]) for k in range(3)], axis=1)
    return np.rint(table).astype(np.uint8)


def diverging_index(values: np.ndarray, limit: float, n_entries: int = N_DIVERGING) -> np.ndarray:
    """The table entry of each value shown over ±``limit`` (NaN → the middle entry)."""
    limit = max(float(limit), MIN_LIMIT)
    scaled = (np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0) + limit) * (n_entries / (2 * limit))
    return np.clip(np.floor(scaled), 0, n_entries - 1).astype(np.intp)


def diverging_rgb(values: np.ndarray, limit: float) -> np.ndarray:
    """Signed values as RGB through :func:`diverging_lut`: (..., 3) uint8, symmetric about 0 with ±``limit``."""
    return diverging_lut()[diverging_index(values, limit)]


def grey_rgb(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """A grey-scale image as RGB: ``low`` black, ``high`` white, clipped. (..., 3) uint8."""
    scaled = np.clip((np.nan_to_num(np.asarray(image, dtype=np.float64)) - low) / max(high - low, 1e-12), 0, 1)
    return np.repeat((scaled * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=-1)


def grey_window(image: np.ndarray) -> tuple[float, float]:
    """A display window for an image: its 0.5th to 99.5th percentile (the app's automatic levels)."""
    finite = np.asarray(image, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(finite, [0.5, 99.5])
    return float(low), float(high) if high > low else float(low) + 1.0


def robust_limit(difference: np.ndarray, percentile: float = ROBUST_PERCENTILE) -> float:
    """The symmetric scale of a difference image: the ``percentile``-th percentile of |Δ| over the image.

    A change confined to fewer pixels than the percentile leaves out (the percentile is 0 there) takes the
    largest |Δ| instead. Never below :data:`MIN_LIMIT`.
    """
    magnitude = np.abs(np.asarray(difference, dtype=np.float64))
    magnitude = magnitude[np.isfinite(magnitude)]
    if magnitude.size == 0:
        return MIN_LIMIT
    limit = float(np.percentile(magnitude, percentile))
    if not limit > 0:
        limit = float(magnitude.max())
    return max(limit, MIN_LIMIT)


class RunningScale:
    """The symmetric limit of the difference panel while an attack runs (Qt-free).

    Each step's robust |Δ| (:func:`robust_limit`) is smoothed (an exponential average, so one noisy step does
    not set the scale) and the limit follows it upwards only: it never shrinks during a run, so colours do not
    flicker. When the smoothed value passes the limit, the limit jumps to it times ``headroom``, so a growing
    change widens the scale in a few steps of at least ``headroom`` instead of at every frame. The first step's
    tiny change therefore sets nothing for good. :meth:`final` gives the finished run's own scale.

    Parameters
    ----------
    smoothing : weight of the newest step in the average, in (0, 1]; 1 = no smoothing.
    headroom : factor above the smoothed value a widened limit is set to, ≥ 1.
    percentile : |Δ| percentile of each step (see :func:`robust_limit`).

    Use::

        scale.reset()                                    # a run starts
        limit = scale.update(step.difference)            # each painted step: show it over ±limit
        limit = scale.final(result.perturbed - result.clean)  # the run ended
    """

    def __init__(self, smoothing: float = 0.5, headroom: float = 1.25, percentile: float = ROBUST_PERCENTILE):
        if not 0 < smoothing <= 1:
            raise ValueError(f"smoothing must be in (0, 1], not {smoothing}")
        if not headroom >= 1:
            raise ValueError(f"headroom must be ≥ 1, not {headroom}")
        self.smoothing, self.headroom, self.percentile = float(smoothing), float(headroom), float(percentile)
        self._smoothed: float | None = None
        self._limit: float | None = None

    @property
    def limit(self) -> float | None:
        """The current limit; None before the first step of a run."""
        return self._limit

    def reset(self) -> None:
        """Forget the previous run (call when a run starts)."""
        self._smoothed = self._limit = None

    def update(self, difference: np.ndarray) -> float:
        """Take one step's difference image (perturbed − clean); returns the limit to show it with."""
        target = robust_limit(difference, self.percentile)
        if self._smoothed is None:
            self._smoothed = target
        else:
            self._smoothed += self.smoothing * (target - self._smoothed)
        if self._limit is None or self._smoothed > self._limit:
            self._limit = self._smoothed * self.headroom
        return self._limit

    def final(self, difference: np.ndarray) -> float:
        """The finished run's limit: the robust |Δ| of its final difference (the figure and report use it too)."""
        return robust_limit(difference, self.percentile)


def format_eps(eps: float, threat: dict | None, plain: bool = False) -> str:
    """A budget in the threat's terms: percent of ‖y‖ or ‖x‖ (of their max for L∞), or absolute. ``plain``: in
    words a clinician reads ("2 % of the measurement's size"; "of its largest value" for L∞) instead of symbols.

    ``threat`` is the recorded threat settings (``norm``, ``eps_mode``, ``domain``)."""
    threat = threat or {}
    linf = threat.get("norm") == "linf"
    if threat.get("eps_mode", "relative") == "relative":
        measurement = threat.get("domain", "measurement") == "measurement"
        if plain:
            what = "the measurement's" if measurement else "the image's"
            return f"{eps * 100:.3g} % of {what} {'largest value' if linf else 'size'}"
        return f"{eps * 100:.3g} % {'‖y‖' if measurement else '‖x‖'}{'∞' if linf else ''}"
    return f"{eps:.3g}"
