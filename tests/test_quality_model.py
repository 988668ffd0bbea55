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
        "unread_ink": 0.01,
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
        "unread_ink": 0.6,
    }
    p_good, p_bad = model.predict(good), model.predict(bad)
    assert 0.0 <= p_bad < p_good <= 1.0
    assert p_good > 0.9 and p_bad < 0.6
    # Features that were not measured are imputed, never NaN out.
    assert not math.isnan(model.predict({}))


def test_packaged_model_puts_the_heuristic_on_the_accuracy_scale() -> None:
    model = load_model()
    assert isinstance(model, QualityModel) and model.heuristic_x
    assert model.heuristic_y == sorted(model.heuristic_y)
    # OCR confidence tops out near 0.96: a flawless read must not look like a 3 % error.
    assert model.calibrate_heuristic(0.976) > 0.98
    assert model.calibrate_heuristic(0.5) < 0.8
    # Without knots the heuristic is used as it is.
    bare = model.model_copy(update={"heuristic_x": [], "heuristic_y": []})
    assert bare.calibrate_heuristic(0.7) == 0.7


def test_fit_is_deterministic_and_follows_confidence() -> None:
    from benchmarks.quality_calibration import PageRecord, fit

    def record(i: int) -> PageRecord:
        conf = 0.3 + 0.65 * ((i * 37) % 60) / 60
        feats = {
            "conf_mean": conf,
            "conf_median": conf,
            "conf_p10": conf - 0.2,
            "conf_low_share": max(0.0, 0.5 - conf / 2),
            "conf_unsure_share": 1 - conf,
            "suspect_share": (1 - conf) / 3,
            "validity": 0.9,
        }
        acc = min(1.0, conf + 0.05 + 0.03 * ((i * 13) % 5 - 2))
        return PageRecord("fit", f"p{i}", 1, "ocr", math.nan, "", acc, feats)

    records = [record(i) for i in range(60)]
    first, second = fit(records, "generated corpus test"), fit(records, "generated corpus test")
    assert first == second
    lo, hi = (
        first.predict({"conf_mean": 0.4, "conf_median": 0.4}),
        first.predict({"conf_mean": 0.9, "conf_median": 0.9}),
    )
    assert lo < hi and abs(first.predict(records[5].features) - records[5].accuracy) < 0.1
