"""The calibrated quality model: named text/OCR/image features → estimated character accuracy.

The model is fitted offline by ``python -m benchmarks.quality_calibration --fit``
against ground truth on the project's generated corpus and stored as a small
JSON file inside the package (``pipelines/data/quality_model.json``): a linear
model over standardised features, then a monotone (isotonic) map onto measured
accuracy, and a second monotone map that puts the confidence heuristic of
:mod:`pipelines.stages.quality` on the same scale before the two are blended.
Nothing is downloaded; without the file a documented heuristic is used.
"""

from __future__ import annotations

import bisect
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

MODEL_FILE = "quality_model.json"


class QualityModel(BaseModel):
    """A fitted model; see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    features: list[str] = Field(description="Feature names, in coefficient order.")
    means: list[float] = Field(description="Training mean per feature (imputes NaN).")
    scales: list[float] = Field(description="Training standard deviation per feature.")
    coefficients: list[float]
    intercept: float
    iso_x: list[float] = Field(description="Isotonic knots: linear predictions (ascending).")
    iso_y: list[float] = Field(description="Isotonic knots: accuracy at each knot.")
    heuristic_x: list[float] = Field(
        default_factory=list,
        description="Isotonic knots mapping the confidence heuristic onto accuracy: "
        "heuristic values (ascending); none: the heuristic is used as it is.",
    )
    heuristic_y: list[float] = Field(
        default_factory=list, description="Accuracy at each heuristic knot."
    )
    trained_on: str = Field(default="", description="What the model was fitted on.")
    blend: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="Weight of the fitted model against the confidence/real-word heuristic "
        "(the synthetic training pages are harsher than real scans; the blend transfers).",
    )

    def linear(self, values: Mapping[str, float]) -> float:
        total = self.intercept
        for name, mean, scale, coef in zip(
            self.features, self.means, self.scales, self.coefficients, strict=True
        ):
            v = values.get(name, math.nan)
            if math.isnan(v):
                v = mean
            total += coef * (v - mean) / (scale or 1.0)
        return total

    def calibrate_heuristic(self, value: float) -> float:
        """The confidence heuristic's ``value`` as an estimated share of correct characters."""
        return interpolate(self.heuristic_x, self.heuristic_y, value)

    def predict(self, values: Mapping[str, float]) -> float:
        """Estimated share of correct characters, in [0, 1]."""
        return max(0.0, min(1.0, interpolate(self.iso_x, self.iso_y, self.linear(values))))


def interpolate(xs: Sequence[float], ys: Sequence[float], x: float) -> float:
    """Piecewise-linear interpolation, flat outside the knots."""
    if not xs:
        return x
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = bisect.bisect_right(xs, x)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def isotonic(
    xs: Sequence[float], ys: Sequence[float], *, median: bool = False
) -> tuple[list[float], list[float]]:
    """Pool-adjacent-violators fit of a non-decreasing map; returns its knots.

    Each pooled block becomes one knot at its mean ``x``, so the map is linear
    between blocks rather than a staircase: pages the linear score orders
    differently keep different estimates (no ties from a flat step). A block's
    value is the mean of its ``y`` (least squares) or, with ``median``, their
    median: the fit then minimises absolute error and a few pages far off the
    trend (text read right but put in the wrong order) do not drag a block.
    """
    stat = statistics.median if median else statistics.fmean
    pairs = sorted(zip(xs, ys, strict=True))
    blocks: list[tuple[list[float], list[float], float]] = []  # (x values, y values, value)
    for x, y in pairs:
        bx, by = [x], [y]
        while blocks and blocks[-1][2] >= stat(by):
            px, py, _ = blocks.pop()
            bx, by = px + bx, py + by
        blocks.append((bx, by, stat(by)))
    return [statistics.fmean(bx) for bx, _, _ in blocks], [v for _, _, v in blocks]


@cache
def load_model() -> QualityModel | None:
    """The packaged model, or None when the package has none."""
    try:
        raw = resources.files("pipelines.data").joinpath(MODEL_FILE).read_text("utf-8")
    except (FileNotFoundError, ModuleNotFoundError):
        return None
    return QualityModel.model_validate(json.loads(raw))
