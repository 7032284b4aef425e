"""emogan.metrics.records: metrics.jsonl appends, torn lines, damaged lines, and refusing to mix identities."""

import json

import pytest

from emogan.errors import RunError
from emogan.metrics.records import CONFIG_FILE, METRICS_FILE, MetricsLog, MetricsMismatch, read_metrics

IDENTITY = {"settings": {"version": 1, "n": 1000}, "reference": {"content_hash": "aa", "emotion": "all", "n_images": 5},
            "train": {"content_hash": "bb", "emotion": "all", "n_images": 9}, "classifier": {"sha256": "cc"}}


def test_append_read_and_resume(tmp_path):
    log = MetricsLog(tmp_path, IDENTITY, extra={"baselines": {"msssim_real": 0.1}})
    log.append({"iteration": 50, "n": 1000, "fer_fid": 1.5, "coverage": None})
    log.append({"iteration": 100, "n": 1000, "fer_fid": float("nan"), "coverage": 0.5})
    lines = (tmp_path / METRICS_FILE).read_text().splitlines()
    assert json.loads(lines[1])["fer_fid"] is None            # NaN is not JSON: written as null
    assert json.loads((tmp_path / CONFIG_FILE).read_text())["baselines"] == {"msssim_real": 0.1}
    again = MetricsLog(tmp_path, IDENTITY)
    assert again.done == {50, 100}
    df = read_metrics(tmp_path)
    assert df["iteration"].tolist() == [50, 100] and df["coverage"].isna().tolist() == [True, False]


def test_a_torn_last_line_is_ignored_then_rewritten(tmp_path):
    log = MetricsLog(tmp_path, IDENTITY)
    log.append({"iteration": 50, "n": 1000})
    with open(tmp_path / METRICS_FILE, "a") as f:
        f.write('{"iteration": 100, "n": 10')               # killed mid-line
    assert read_metrics(tmp_path)["iteration"].tolist() == [50]
    log = MetricsLog(tmp_path, IDENTITY)
    assert log.done == {50}
    log.append({"iteration": 100, "n": 1000})
    assert [json.loads(x)["iteration"] for x in (tmp_path / METRICS_FILE).read_text().splitlines()] == [50, 100]


def test_a_damaged_line_names_the_file_and_line(tmp_path):
    MetricsLog(tmp_path, IDENTITY)
    (tmp_path / METRICS_FILE).write_text('{"iteration": 50}\nnot json\n')
    with pytest.raises(RunError, match=rf"{METRICS_FILE}:2: not valid JSON"):
        read_metrics(tmp_path)


@pytest.mark.parametrize("change, needle", [
    (lambda i: i["settings"].update(n=500), "n 1000 -> 500"),
    (lambda i: i["reference"].update(content_hash="zz"), "reference faces"),
    (lambda i: i.update(classifier=None), "classifier cc -> none"),
])
def test_other_reference_classifier_or_n_is_refused_unless_restarted(tmp_path, change, needle):
    MetricsLog(tmp_path, IDENTITY).append({"iteration": 50, "n": 1000})
    other = json.loads(json.dumps(IDENTITY))
    change(other)
    with pytest.raises(MetricsMismatch) as e:
        MetricsLog(tmp_path, other)
    msg = str(e.value)
    assert "\n" not in msg and needle in msg and "--restart" in msg
    assert MetricsLog(tmp_path, other, restart=True).done == set()
    assert read_metrics(tmp_path).empty


def test_moving_the_data_is_not_a_different_reference(tmp_path):
    MetricsLog(tmp_path, IDENTITY).append({"iteration": 50, "n": 1000})
    moved = json.loads(json.dumps(IDENTITY))
    moved["reference"]["source"] = "/elsewhere/fer2013"
    assert MetricsLog(tmp_path, moved).done == {50}


def test_real_baseline_comes_from_the_lines_else_the_config() -> None:
    import pandas as pd

    from emogan.metrics.records import real_baseline
    lines = pd.DataFrame({"iteration": [50, 100], "msssim_real": [None, 0.1]})
    assert real_baseline([(lines, {})], "msssim_real") == 0.1
    assert real_baseline([(None, {}), (pd.DataFrame({"iteration": [1]}), {"baselines": {"msssim_real": 0.2}})],
                         "msssim_real") == 0.2
    assert real_baseline([(lines, {})], None) is None and real_baseline([], "msssim_real") is None
    # Runs measured against different references (one emotion beside all) have no common floor.
    one, two = ({"reference": {"content_hash": h}, "baselines": {"fer_fid_real": v}} for h, v in (("a", 1), ("b", 9)))
    assert real_baseline([(None, one), (None, one)], "fer_fid_real") == 1.0
    assert real_baseline([(None, one), (None, two)], "fer_fid_real") is None
