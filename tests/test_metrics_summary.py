"""emogan/metrics/summary.py and `emogan report`: the README's collapse table from metrics lines."""

import json

import pandas as pd
from tiny import tiny_run

from emogan.cli import main
from emogan.metrics.summary import markdown, summary_row, worst_row


def frame(coverage, fid, dup=None, every=500):
    n = len(coverage)
    return pd.DataFrame({"iteration": [every * (i + 1) for i in range(n)], "coverage": coverage, "fer_fid": fid,
                         "duplicate_rate": dup or [0.0] * n, "emotion_js_prior": [0.05] * n,
                         "msssim": [0.1] * n, "msssim_real": [0.1] * n})


def test_worst_is_lowest_coverage_after_the_start_ties_by_fid():
    df = frame([0.0, 0.5, 0.2, 0.2, 0.6], [9.0, 2.0, 3.0, 4.0, 1.5])
    assert int(worst_row(df, start=1000)["iteration"]) == 2000      # 0.2 twice: the higher FID wins
    assert int(worst_row(df, start=1)["iteration"]) == 500           # the untrained start, when asked for
    assert worst_row(df, start=10_000) is None


def test_row_at_an_unmeasured_iteration_takes_the_last_before_it():
    df = frame([0.1, 0.5, 0.6], [5.0, 2.0, 1.0], every=250)
    row = summary_row("r", "M7", df, at=740)
    assert row["at"] == 500 and row["fer_fid@at"] == 2.0 and row["worst"] is None     # nothing from 1000 on
    assert row["verdict"] == "healthy at 500" and row["episodes"] == []


def test_markdown_marks_collapse_and_missing_values():
    healthy = summary_row("M7-all-s0", "M7", frame([0.5, 0.6, 0.6], [2.0, 1.5, 1.2]), at=1500)
    dup = [0.0, 0.3, 0.4, 0.5]
    collapsing = frame([0.5, 0.1, 0.05, 0.02], [2.0, 6.0, 7.0, 8.0], dup)
    table = markdown([summary_row("M2-all-s0", "M2", collapsing, at=1500), healthy]).splitlines()
    assert table[0].startswith("| model | run | FER-FID at 1500 | coverage at 1500 |")
    assert len(table) == 4 and all(line.count("|") == table[0].count("|") for line in table)
    # The worst iteration is the run's, later than --at too; the verdict is the one at --at.
    assert table[2] == ("| M2 | M2-all-s0 | 7.00 | 5.0% | 40.0% | 0.050 | 2000 | 8.00 | 2.0% | 50.0% | 0.050 "
                        "| 1 | collapse signs since iteration 1000; collapsed 1000-1500 (2 snapshots) |")
    assert table[3].endswith("| 0 | healthy at 1500 |")
    assert summary_row("M2-all-s0", "M2", collapsing, at=2000)["verdict"] == \
        "collapsing from iteration 1000; collapsed 1000-2000 (3 snapshots)"
    two_ats = markdown([summary_row("a", "M1", collapsing, at=1500), summary_row("b", "M1", frame([0.5], [1.0]),
                                                                                 at=1500)])
    assert "| FER-FID at |" in two_ats                    # 1500 and 500: no single iteration to name
    assert "| - | - | - | - |" in two_ats                  # b has no worst iteration from 1000 on


def test_a_conditional_run_adds_its_label_accuracy_column():
    plain = summary_row("M7-all-s0", "M7", frame([0.5, 0.6, 0.6], [2.0, 1.5, 1.2]), at=1500)
    assert "label accuracy" not in markdown([plain])
    cond_df = frame([0.5, 0.6, 0.6], [2.0, 1.5, 1.2]).assign(label_accuracy=[0.2, 0.4, 0.55])
    table = markdown([plain, summary_row("M8-all-s0", "M8", cond_df, at=1500)]).splitlines()
    assert table[0].endswith("| label accuracy at 1500 | episodes | verdict |")
    assert all(line.count("|") == table[0].count("|") for line in table)
    assert table[2].endswith("| - | 0 | healthy at 1500 |") and table[3].endswith("| 55.0% | 0 | healthy at 1500 |")


def test_report_cli(tmp_path, capsys):
    root = tmp_path / "runs"
    tiny_run(root, "M1-all-s0", iters=10, snapshot_every=5)
    assert main(["report", "--root", str(root)]) == 2
    assert "no metrics yet" in capsys.readouterr().err
    lines = [{"iteration": it, "n": 8, "fer_fid": f, "coverage": c, "duplicate_rate": 0.0, "emotion_js_prior": 0.1}
             for it, f, c in ((500, 3.0, 0.4), (1000, 2.0, 0.3), (1500, 1.0, 0.6))]
    (root / "M1-all-s0" / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main(["report", "--root", str(root), "--at", "1500", "--from", "500"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].startswith("| M3 | M1-all-s0 | 1.00 | 60.0% | 0.0% | 0.100 | 1000 | 2.00 | 30.0% |")
    assert main(["report", "nope", "--root", str(root)]) == 2
    assert "nope" in capsys.readouterr().err


def test_seeds_give_the_mean_and_range_of_a_model():
    from emogan.metrics.summary import seed_rows, seeds_markdown
    rows = [summary_row(f"M7-all-s{s}", "M7", frame([0.5, c], [9.0, f]), 1000, 500, seed=s)
            for s, c, f in ((0, 0.50, 6.0), (1, 0.56, 5.0), (2, 0.53, 7.0))]
    rows.append(summary_row("M2-all-s0", "M2", frame([0.5, 0.5], [9.0, 7.0]), 1000, 500, seed=0))
    [m7] = seed_rows(rows)                      # M2 has one seed: no spread to give
    assert (m7["model"], m7["n"], m7["seeds"]) == ("M7", 3, [0, 1, 2])
    assert m7["fer_fid"] == (6.0, 5.0, 7.0) and m7["coverage"][1:] == (0.50, 0.56) and m7["label_accuracy"] is None
    table = seeds_markdown([m7]).splitlines()
    assert table[0] == "| model | emotion | seeds | FER-FID (mean, range) | coverage (mean, range) |"
    assert table[2] == "| M7 | all | 0, 1, 2 | 6.00 (5.00-7.00) | 53.0% (50.0%-56.0%) |"


def test_seeds_of_one_model_id_trained_with_two_recipes_are_not_averaged_together():
    from emogan.metrics.summary import seed_rows
    rows = [summary_row(f"M7-all-s{s}", "M7", frame([0.5, 0.5], [9.0, f]), 1000, 500, seed=s, recipe=recipe)
            for s, f, recipe in ((0, 6.0, "aaaaaa"), (1, 5.0, "aaaaaa"), (2, 7.0, "bbbbbb"), (3, 8.0, "bbbbbb"))]
    out = {r["model"]: r for r in seed_rows(rows)}
    assert set(out) == {"M7 (recipe aaaaaa)", "M7 (recipe bbbbbb)"}
    assert out["M7 (recipe aaaaaa)"]["fer_fid"] == (5.5, 5.0, 6.0) and out["M7 (recipe bbbbbb)"]["seeds"] == [2, 3]


def test_report_lists_each_episode_on_its_own_line(tmp_path, capsys):
    root = tmp_path / "runs"
    tiny_run(root, "M1-all-s0", iters=10, snapshot_every=5)
    lines = [{"iteration": it, "n": 8, "fer_fid": 2.0, "coverage": c, "duplicate_rate": 0.0, "emotion_js_prior": 0.1,
              "msssim": ms, "msssim_real": 0.1} for it, c, ms in ((500, 0.5, 0.1), (1000, 0.05, 0.5), (1500, 0.6, 0.1))]
    (root / "M1-all-s0" / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert main(["report", "--root", str(root), "--at", "1500", "--episodes"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].endswith("| 1 | healthy at 1500; collapsed 1000 (1 snapshot) |")
    assert out[-1] == ("M1-all-s0: collapsed 1000 (1 snapshot), worst at 1000: MS-SSIM 0.50 vs 0.10 real; "
                       "coverage 0.05 of best 0.50")


def test_best_snapshot_is_the_highest_coverage_among_the_snapshots():
    from emogan.metrics.summary import best_snapshot
    df = frame([0.2, 0.6, 0.6, 0.3], [5.0, 3.0, 2.0, 1.0])
    assert best_snapshot(df, [500, 1000, 1500, 2000]) == 1500       # ties: the lower FER-FID
    assert best_snapshot(df, [500, 1000]) == 1000 and best_snapshot(df, []) is None and best_snapshot(None, [1]) is None
