"""Fooling rates: the Wilson interval on known answers, and rates pooled per run and iteration from answer lines."""

from __future__ import annotations

import json
import math

import pytest
from scipy.stats import binomtest
from tiny import tiny_run

from emogan.cli import main
from emogan.runs.answers import ANSWERS_FILE, answer_line, append_answers
from emogan.views.fooling import markdown, pooled_rates, rate_text, real_accuracy, score, wilson


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    (0, 10, 0.0, 0.2775),        # z²/(n+z²): the upper end when nothing fooled the viewer
    (10, 10, 0.7225, 1.0),
    (5, 10, 0.2366, 0.7634),
    (1, 1, 0.2065, 1.0),
    (3, 20, 0.0524, 0.3604),
])
def test_wilson_on_known_answers(k, n, low, high):
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(low, abs=5e-5) and hi == pytest.approx(high, abs=5e-5)


def test_wilson_matches_scipy_and_stays_inside_0_1():
    for n in (1, 2, 7, 20, 113):
        for k in range(n + 1):
            lo, hi = wilson(k, n)
            ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
            assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=1e-9)
            assert 0.0 <= lo <= k / n <= hi <= 1.0
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(3, 2)


def _fake(run, it, answer):
    return answer_line(run=run, iteration=it, face=f"{run}/{it}/x", answer=answer, truth="fake",
                       pool=[("A", 10), ("B", 10)])


def _real(answer, pool=(("A", 10), ("B", 10))):
    return answer_line(run=None, iteration=None, face="validation/happy/1.jpg", answer=answer, truth="real", pool=pool)


def test_rates_are_pooled_per_run_and_iteration():
    lines = ([_fake("A", 10, "real")] * 3 + [_fake("A", 10, "fake")] * 7 + [_fake("B", 10, "real")] * 4
             + [_fake("A", 20, "real")] + [_real("real")] * 5 + [_real("fake")] * 3
             + [_real("real", pool=[("A", 20)])])
    rates = pooled_rates(lines)
    assert list(zip(rates["run"], rates["iteration"])) == [("A", 10), ("A", 20), ("B", 10)]
    a10 = rates.iloc[0]
    assert (a10["fakes"], a10["taken_for_real"], a10["fooling_rate"]) == (10, 3, 0.3)
    assert (a10["fooling_low"], a10["fooling_high"]) == pytest.approx(wilson(3, 10))
    assert (a10["reals"], a10["reals_right"], a10["real_accuracy"]) == (8, 5, 5 / 8)
    assert rates.iloc[1][["fakes", "taken_for_real", "reals", "reals_right"]].tolist() == [1, 1, 1, 1]
    assert rates.iloc[2]["fooling_rate"] == 1.0 and rates.iloc[2]["reals"] == 8
    assert score(lines) == (7 + 5 + 1, len(lines))
    assert real_accuracy(lines) == (6, 9)
    table = markdown(rates)
    assert "| A | 10 | 3/10 = 30% (95% CI 11-60%) | 5/8 = 62% |" in table


def test_no_answers_give_an_empty_table():
    rates = pooled_rates([])
    assert len(rates) == 0 and "fooling_rate" in rates
    assert rate_text(0, 0) == "-"
    assert math.isnan(pooled_rates([_fake("A", 1, "real")])["real_accuracy"].iloc[0])


def test_report_adds_the_pooled_rates_only_where_there_are_answers(tmp_path, capsys):
    root = tmp_path / "runs"
    tiny_run(root, "M1-all-s0", iters=10, snapshot_every=5)
    (root / "M1-all-s0" / "metrics.jsonl").write_text(json.dumps(
        {"iteration": 10, "n": 8, "fer_fid": 1.0, "coverage": 0.5, "duplicate_rate": 0.0, "emotion_js_prior": 0.1}) + "\n")
    assert main(["report", "--root", str(root), "--at", "10", "--from", "5"]) == 0
    assert "Real or fake?" not in capsys.readouterr().out
    append_answers(root, [_fake("M1-all-s0", 10, "real")] * 3 + [_fake("M1-all-s0", 10, "fake")]
                   + [_real("fake", pool=[("M1-all-s0", 10)]), _fake("other", 10, "real")])
    with open(root / ANSWERS_FILE, "a") as f:
        f.write("not an answer\n")
    assert main(["report", "--root", str(root), "--at", "10", "--from", "5"]) == 0
    got = capsys.readouterr()
    out = got.out.split("\n\nReal or fake? ")[1].splitlines()
    assert out[0].startswith(f"(6 answers in {root / ANSWERS_FILE}, 1 right;")
    assert out[3] == "| M1-all-s0 | 10 | 3/4 = 75% (95% CI 30-95%) | 0/1 = 0% |" and out[4].startswith("| other |")
    assert got.err.strip() == f"warning: {root / ANSWERS_FILE}: skipped 1 damaged line (7); the other 6 answers count"
    assert main(["report", "M1-all-s0", "--root", str(root), "--at", "10", "--from", "5"]) == 0
    assert "| other |" not in capsys.readouterr().out          # only the runs asked for
