"""Crash safety: a training process SIGKILLed at random moments and inside snapshot writes resumes to the same run."""

from killharness import Setup, kill_trials


def test_five_kills_in_a_row_then_resume_equals_an_uninterrupted_run(tmp_path):
    # rng_seed 1 gives kills placed inside writes (create, snapshot files, index/state) and timed ones;
    # benchmarks/kill_trials.py runs the same harness with 50 and more.
    report = kill_trials(tmp_path, kills=5, setup=Setup(iters=60, snapshot_every=2), rng_seed=1)
    assert report.kills == 5 and report.placed >= 1 and report.timed >= 1, report.summary()
    assert report.left_temp_file >= 1, "no kill landed inside a file write: the test lost its point"
    assert report.max_temp_files <= 1, "temp files of killed writes pile up instead of being cleaned on resume"
    assert report.final_iteration == 60
