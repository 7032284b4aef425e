"""Crash safety of a loop of one's own: SIGKILLed at random moments and inside its writes, it leaves whole loss lines
and whole snapshots (grids, weights, metric faces), and resumes to the run it would have made uninterrupted."""

from killharness import Setup, kill_trials


def test_a_tracked_loop_killed_five_times_resumes_to_an_uninterrupted_run(tmp_path):
    report = kill_trials(tmp_path, kills=5, setup=Setup(iters=40, snapshot_every=2, tracked=True), rng_seed=1)
    assert report.kills == 5 and report.placed >= 1 and report.timed >= 1, report.summary()
    assert report.left_temp_file >= 1, "no kill landed inside a file write: the test lost its point"
    assert report.max_temp_files <= 1, "temp files of killed writes pile up instead of being cleaned on resume"
    assert report.final_iteration == 40
