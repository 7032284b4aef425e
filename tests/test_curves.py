"""Loss curves: TensorBoard's debiased smoothing, thinning and the long frame of several runs."""

import math

import numpy as np
import pandas as pd
import pytest

from emogan.views.curves import curve_frame, envelope_rows, round_step, smooth, tail_mean, values_at


def tensorboard_smooth(values, weight):
    """TensorBoard's loop, written out: non-finite values pass through and do not count."""
    last, n, out = 0.0, 0, []
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        n += 1
        out.append(last / (1 - weight ** n))
    return np.array(out)


def losses(n=50, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"iteration": np.arange(1, n + 1), "loss_D": rng.uniform(0.3, 0.9, n),
                       "loss_G": rng.uniform(0.5, 3.0, n), "D_x": rng.uniform(0, 1, n), "D_G_z": rng.uniform(0, 1, n),
                       "seconds": np.arange(n) * 0.1})
    return df


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.95])
def test_smooth_matches_tensorboard_including_nan(weight):
    y = np.random.default_rng(1).normal(size=200)
    y[[5, 50, 51]] = [np.nan, np.inf, np.nan]
    np.testing.assert_allclose(smooth(y, weight), tensorboard_smooth(y, weight), rtol=1e-12, equal_nan=True)


def test_smooth_is_debiased_and_keeps_constants():
    y = np.array([2.0, 4.0, 6.0])
    assert smooth(y, 0.9)[0] == 2.0                      # no pull towards zero at the start
    np.testing.assert_allclose(smooth(np.full(30, 0.7), 0.99), 0.7)
    with pytest.raises(ValueError, match="smoothing weight"):
        smooth(y, 1.0)


def test_envelope_keeps_spikes_gaps_and_ends_within_the_budget():
    rng = np.random.default_rng(0)
    y = rng.normal(size=5000)
    y[1234], y[4321] = 50.0, -40.0          # one-iteration spikes, which every-k-th thinning drops
    y[3000:3010] = np.nan                   # a gap (a diverged stretch) inside one slice
    keep = envelope_rows(y, 1000)
    kept = np.flatnonzero(keep)
    assert keep.sum() <= 1002 and {0, 4999, 1234, 4321} <= set(kept)
    assert np.isnan(y[keep]).sum() == 1 and 3000 <= kept[np.isnan(y[keep])][0] < 3010
    # every slice of 10 values keeps its lowest and highest: the drawn band is the band of all the values
    for start in range(0, 5000, 10):
        part, mine = y[start:start + 10], y[start:start + 10][keep[start:start + 10]]
        if np.isfinite(part).any():
            assert np.nanmax(mine) == np.nanmax(part) and np.nanmin(mine) == np.nanmin(part)
    assert envelope_rows(y[:800], 1000).all()


def test_round_steps():
    assert [round_step(x) for x in (0.2, 1, 1.5, 3, 6, 12, 20, 21, 260)] == [1, 1, 2, 5, 10, 20, 20, 50, 500]


def test_curve_frame_smooths_before_cutting_rows_and_shares_a_grid():
    a, b = losses(3000, seed=2), losses(40, seed=3)
    frame = curve_frame({"a": a, "b": b}, weight=0.8, max_points=500)
    assert set(frame.run) == {"a", "b"} and set(frame.quantity) == {"loss_G", "loss_D", "D_x", "D_G_z"}
    part = frame[(frame.run == "a") & (frame.quantity == "loss_G")]
    assert len(part) <= 500 + 250 + 2
    full = pd.Series(smooth(a.loss_G.to_numpy(), 0.8), index=a.iteration)
    np.testing.assert_allclose(part.smoothed.to_numpy(), full.loc[part.iteration].to_numpy())
    np.testing.assert_allclose(part.raw.to_numpy(), a.set_index("iteration").loss_G.loc[part.iteration].to_numpy())
    assert a.loss_G.idxmax() + 1 in set(part.iteration)                    # the envelope keeps the highest value
    # the grid: every 20th iteration (3000 / 250 = 12, rounded up to 20) for both runs, and each run's last row
    grid_a = set(part.iteration[part.on_grid])
    grid_b = set(frame[(frame.run == "b") & (frame.quantity == "D_x") & frame.on_grid].iteration)
    assert grid_a == set(range(20, 3001, 20)) and grid_b == {20, 40}
    assert len(frame[(frame.run == "b") & (frame.quantity == "D_x")]) == 40
    assert curve_frame({}).empty


def test_values_at_takes_the_last_row_not_after():
    df = losses(10).iloc[::3]                             # iterations 1, 4, 7, 10
    assert values_at(df, 4)["iteration"] == 4
    assert values_at(df, 6)["iteration"] == 4
    assert values_at(df, 100)["iteration"] == 10
    assert values_at(df, 0) is None


def test_tail_mean_is_the_mean_of_the_last_tenth() -> None:
    df = pd.DataFrame({"loss_G": np.arange(100, dtype=float)})
    assert tail_mean(df, "loss_G") == pytest.approx(np.arange(90, 100).mean())
    assert tail_mean(df.head(5), "loss_G") == 4.0            # at least one row
    assert math.isnan(tail_mean(None, "loss_G")) and math.isnan(tail_mean(df.head(0), "loss_G"))


def test_seed_bands_are_the_mean_and_range_over_a_models_runs() -> None:
    from emogan.views.curves import seed_bands
    frame = pd.DataFrame({"run": ["a0", "a1", "a2", "a0", "a1", "b0", "a2"],
                          "iteration": [50, 50, 50, 100, 100, 50, 100],
                          "fid": [1.0, 2.0, 6.0, 4.0, 2.0, 9.0, float("nan")]})
    bands = seed_bands(frame, {"a0": "M7", "a1": "M7", "a2": "M7", "b0": "M2"}, "fid")
    rows = {(r.group, r.iteration): (r.mean, r.lo, r.hi, r.n) for r in bands.itertuples()}
    # at 100 only two of M7's three runs have a value (the third is NaN there): no band at 100
    assert rows == {("M2", 50): (9.0, 9.0, 9.0, 1), ("M7", 50): (3.0, 1.0, 6.0, 3)}
    assert seed_bands(frame, {}, "fid").empty
