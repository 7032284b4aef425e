"""emogan/classifier/calibration.py: expected calibration error and the fitted temperature."""

import numpy as np

from emogan.classifier.calibration import expected_calibration_error, fit_temperature, tempered_probs


def test_ece_of_known_cases():
    labels = np.array([0, 0, 1, 1])
    sure_and_right = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    assert expected_calibration_error(sure_and_right, labels) == 0.0
    sure_and_half_wrong = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    assert expected_calibration_error(sure_and_half_wrong, labels) == 0.5     # confidence 1, accuracy 0.5


def test_fitted_temperature_undoes_overconfidence():
    rng = np.random.default_rng(0)
    n, k = 4000, 7
    labels = rng.integers(0, k, n)
    # Logits whose softmax at T = 1 is calibrated, then made 2.5x overconfident.
    true_logits = rng.normal(0, 1, (n, k))
    true_logits[np.arange(n), labels] += 1.5
    probs = tempered_probs(true_logits, 1.0)
    labels = np.array([rng.choice(k, p=p) for p in probs])         # labels drawn from the calibrated probabilities
    overconfident = true_logits * 2.5
    t = fit_temperature(overconfident, labels)
    assert 2.2 <= t <= 2.8
    before = expected_calibration_error(tempered_probs(overconfident, 1.0), labels)
    after = expected_calibration_error(tempered_probs(overconfident, t), labels)
    assert after < before / 3 and after < 0.03


def test_views_are_averaged_after_the_softmax():
    a, b = np.array([[2.0, 0.0]]), np.array([[0.0, 2.0]])
    np.testing.assert_allclose(tempered_probs([a, b], 1.0), [[0.5, 0.5]])
