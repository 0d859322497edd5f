"""AutoencoderDetector: PyOD's conventions, thresholds and their calibration, the standardized and
combined scores, pickling and nested parameters."""
import pickle

import numpy as np
import pytest

from aefeatures import AutoencoderDetector, AutoencoderTransformer, NotFittedError

from conftest import assert_equal_up_to_batch_rounding, batch_rounding_bound, structured


def test_detector_follows_pyod_conventions(small_params):
    x = structured(1000, seed=1, anomalies=30)
    truth = np.r_[np.zeros(970), np.ones(30)]
    det = AutoencoderDetector(AutoencoderTransformer(**{**small_params, "epochs": 30}), contamination=0.03).fit(x)
    assert det.decision_scores_.shape == (1000,) and det.labels_.shape == (1000,)
    assert set(np.unique(det.labels_)) <= {0, 1}
    assert abs(det.labels_.mean() - 0.03) < 0.01
    np.testing.assert_array_equal(det.predict(x), det.labels_)
    scores = det.decision_function(x)
    np.testing.assert_allclose(scores, det.decision_scores_)
    # Higher score = more anomalous: the planted anomalies rank at the top.
    order = np.argsort(-scores)
    assert truth[order[:30]].mean() > 0.9
    proba = det.predict_proba(x)
    assert proba.shape == (1000, 2) and np.allclose(proba.sum(axis=1), 1) and proba.min() >= 0
    assert np.corrcoef(proba[:, 1], scores)[0, 1] > 0.99
    # The default (combined) score weighs its terms by their means over the training rows (here
    # x), so those rows' scores average 1 (test_detector_combined_score checks the terms).
    assert abs(scores.mean() - 1) < 1e-4
    # Batched scoring gives the same numbers, up to the header's batch bound; labels agree
    # wherever a score is further than that bound from the threshold.
    det.set_params(batch_size=7)
    batched = det.decision_function(x)
    assert_equal_up_to_batch_rounding(batched, scores, "scores")
    assert_equal_up_to_batch_rounding(det.decision_function(x.tolist()), scores, "scores")
    clear = np.abs(scores - det.threshold_) > batch_rounding_bound(scores, "scores")
    np.testing.assert_array_equal(det.predict(x)[clear], det.labels_[clear])
    # predict_proba scales scores by the training scores' range: the bound scales with it.
    spread = det.decision_scores_.max() - det.decision_scores_.min()
    moved = np.abs(det.predict_proba(x)[:, 1] - proba[:, 1])
    assert np.all(moved <= batch_rounding_bound(scores, "scores") / spread * (1 + 1e-9))


def test_detector_thresholds(small_params):
    x = structured(800, seed=2)
    held_out = structured(400, seed=2)[200:]
    det = AutoencoderDetector(AutoencoderTransformer(**small_params), threshold="mad", mad_k=3).fit(x)
    s = det.decision_scores_
    median = np.median(s)
    assert det.threshold_ == pytest.approx(median + 3 * 1.4826 * np.median(np.abs(s - median)))
    det.calibrate_threshold(held_out, false_positive_rate=0.05)
    assert abs(det.predict(held_out).mean() - 0.05) < 0.01
    with pytest.raises(ValueError):
        AutoencoderDetector(contamination=0.7).fit(x)
    with pytest.raises(ValueError):
        AutoencoderDetector(threshold="median").fit(x)
    with pytest.raises(NotFittedError):
        AutoencoderDetector().predict(x)


def test_detector_calibration_goes_through_the_library(small_params):
    rows = structured(5600, seed=21)  # one distribution: fit, calibrate and check on disjoint rows
    x, held_out, fresh = rows[:600], rows[600:2600], rows[2600:]
    det = AutoencoderDetector(AutoencoderTransformer(**small_params)).fit(x)
    det.calibrate_threshold(held_out, false_positive_rate=0.02)
    # The library's threshold, the model's own: the k-th smallest of the 2,000 scores,
    # k = ceil(2001 * 0.98) = 1961 (split conformal).
    assert det.threshold_ == det.autoencoder_.model_.threshold
    quantile = np.sort(det.decision_function(held_out))[1960]
    # decision_function may split the rows differently from the calibration's one call.
    assert abs(det.threshold_ - quantile) <= batch_rounding_bound(np.array([quantile]), "scores")[0]
    assert abs(det.predict(fresh).mean() - 0.02) < 0.01
    restored = pickle.loads(pickle.dumps(det))
    assert restored.threshold_ == det.threshold_ == restored.autoencoder_.model_.threshold
    before = det.threshold_
    for rate in (0, 1, float("nan"), -0.5):
        with pytest.raises(ValueError, match="false positive rate must be in"):
            det.calibrate_threshold(held_out, false_positive_rate=rate)
    with pytest.raises(ValueError, match="98 normal rows cannot calibrate a false-positive rate of 0.01: at least 99"):
        det.calibrate_threshold(held_out[:98], false_positive_rate=0.01)
    poisoned = held_out.copy()
    poisoned[3, 2] = np.inf
    with pytest.raises(ValueError):
        det.calibrate_threshold(poisoned)
    with pytest.raises(ValueError):
        det.calibrate_threshold(held_out[:, :-1])
    assert det.threshold_ == before == det.autoencoder_.model_.threshold
    with pytest.raises(NotFittedError):
        AutoencoderDetector().calibrate_threshold(held_out)


def test_detector_standardized_score(small_params, tmp_path):
    rows = structured(1500, seed=31)
    x, held_out = rows[:1000], rows[1000:]
    det = AutoencoderDetector(AutoencoderTransformer(**small_params), anomaly_score="standardized").fit(x)
    model = det.autoencoder_.model_
    assert model.spec["score"] == "standardized" and det.autoencoder_.anomaly_score == "standardized"
    # Each value's error over its mean on the training rows (no validation split here), then
    # the row mean: the library's scores, which the threshold and the ONNX scorer use too.
    weights = 1 / det.feature_errors(x).mean(axis=0)
    expected = (det.feature_errors(held_out) * weights).mean(axis=1)
    np.testing.assert_allclose(det.decision_function(held_out), expected, rtol=2e-3)
    assert abs(det.decision_scores_.mean() - 1) < 0.01
    plain = AutoencoderDetector(AutoencoderTransformer(**small_params), anomaly_score=None).fit(x)
    assert "score" not in plain.autoencoder_.model_.spec
    np.testing.assert_allclose(plain.decision_function(held_out), plain.feature_errors(held_out).mean(axis=1), rtol=1e-5)
    det.autoencoder_.save(tmp_path / "standardized.aef")
    restored = AutoencoderTransformer.load(tmp_path / "standardized.aef")
    assert restored.anomaly_score == "standardized"
    np.testing.assert_array_equal(restored.model_.score(held_out), model.score(held_out))
    with pytest.raises(ValueError, match="'score' is 'zscore'"):
        AutoencoderDetector(AutoencoderTransformer(**small_params), anomaly_score="zscore").fit(x)


def test_detector_combined_score(small_params, tmp_path):
    """The detector's default score: the standardized score plus the code's Mahalanobis distance
    and its mean squared distance to the 2nd-6th nearest training codes, each divided by three
    times its mean on the training rows (recomputed here in numpy from the codes and the
    standardized scores)."""
    rows = structured(1300, seed=32)
    x, held_out = rows[:1000], rows[1000:]
    assert AutoencoderDetector().anomaly_score == "combined"
    det = AutoencoderDetector(AutoencoderTransformer(**small_params)).fit(x)
    plain = AutoencoderDetector(AutoencoderTransformer(**small_params), anomaly_score="standardized").fit(x)
    assert det.autoencoder_.model_.spec["score"] == "combined"
    codes, fresh = (det.autoencoder_.transform(rows).astype(np.float64) for rows in (x, held_out))
    mean = codes.mean(axis=0)
    covariance = np.cov(codes - mean, rowvar=False, bias=True)
    inverse = np.linalg.inv(covariance + 1e-2 * np.trace(covariance) / len(covariance) * np.eye(len(covariance)))

    def terms(c, base):
        distances = ((c[:, None, :] - codes[None, :, :]) ** 2).sum(axis=2)
        neighbours = np.sort(distances, axis=1)[:, 1:6].mean(axis=1)
        return np.column_stack([base, np.einsum("ij,jk,ik->i", c - mean, inverse, c - mean), neighbours])

    training = terms(codes, plain.decision_scores_)
    weights = 1 / (3 * training.mean(axis=0))
    np.testing.assert_allclose(det.decision_function(held_out), terms(fresh, plain.decision_function(held_out)) @ weights, rtol=1e-4)
    np.testing.assert_allclose(det.decision_scores_, training @ weights, rtol=1e-4)
    assert abs(det.decision_scores_.mean() - 1) < 1e-4
    det.autoencoder_.save(tmp_path / "combined.aef")
    restored = AutoencoderTransformer.load(tmp_path / "combined.aef")
    assert restored.anomaly_score == "combined"
    np.testing.assert_array_equal(restored.model_.score(held_out), det.autoencoder_.model_.score(held_out))


def test_detector_pickle_and_nested_params(small_params):
    from sklearn.base import clone

    x = structured(300, seed=4)
    det = AutoencoderDetector(AutoencoderTransformer(**small_params), contamination=0.05)
    assert det.get_params()["autoencoder__code_size"] == 3
    det.set_params(autoencoder__code_size=2)
    assert det.autoencoder.code_size == 2
    det.fit(x)
    assert det.autoencoder_.transform(x).shape == (300, 2)
    assert det.autoencoder.__dict__.get("model_") is None, "the template estimator stays unfitted"
    copy = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(copy.decision_function(x), det.decision_function(x))
    assert copy.threshold_ == det.threshold_
    np.testing.assert_array_equal(clone(det).fit(x).decision_scores_, det.decision_scores_)
