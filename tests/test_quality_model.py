"""The packaged, calibrated quality model: loads offline, behaves monotonically."""

from __future__ import annotations

import math

from pipelines.stages.quality_model import QualityModel, interpolate, isotonic, load_model


def test_isotonic_fit_is_non_decreasing_and_pools_violators() -> None:
    xs, ys = isotonic([1, 2, 3, 4], [0.1, 0.5, 0.3, 0.9])
    assert ys == sorted(ys)
    assert interpolate(xs, ys, 2.5) == 0.4  # 0.5 and 0.3 pooled
    assert interpolate(xs, ys, -10) == ys[0] and interpolate(xs, ys, 10) == ys[-1]
    # Between blocks the map is linear, not a staircase: different scores stay different.
    assert ys[0] < interpolate(xs, ys, 1.5) < interpolate(xs, ys, 2.0) < ys[1]


def test_median_isotonic_is_not_dragged_by_an_outlier() -> None:
    xs = [1, 2, 3, 4, 5, 6]
    ys = [0.2, 0.3, 0.99, 0.98, 0.1, 1.0]  # x=5: read well, scored low for another reason
    _, mean_ys = isotonic(xs, ys)
    _, median_ys = isotonic(xs, ys, median=True)
    assert mean_ys == sorted(mean_ys) and median_ys == sorted(median_ys)
    assert min(median_ys[2:]) >= 0.98 > max(mean_ys[2:-1])


def test_packaged_model_loads_and_predicts_in_range() -> None:
    model = load_model()
    assert isinstance(model, QualityModel)
    assert model.features and len(model.features) == len(model.coefficients)
    assert "generated corpus" in model.trained_on
    good = {
        "conf_mean": 0.96,
        "conf_p10": 0.9,
        "conf_low_share": 0.0,
        "conf_median": 0.96,
        "conf_unsure_share": 0.0,
        "suspect_share": 0.0,
        "validity": 0.98,
        "symbol_share": 0.0,
        "short_token_share": 0.0,
    }
    bad = {
        "conf_mean": 0.45,
        "conf_p10": 0.1,
        "conf_low_share": 0.6,
        "conf_median": 0.4,
        "conf_unsure_share": 0.7,
        "suspect_share": 0.4,
        "validity": 0.3,
        "symbol_share": 0.1,
        "short_token_share": 0.3,
    }
    p_good, p_bad = model.predict(good), model.predict(bad)
    assert 0.0 <= p_bad < p_good <= 1.0
    assert p_good > 0.9 and p_bad < 0.6
    # Features that were not measured are imputed, never NaN out.
    assert not math.isnan(model.predict({}))
