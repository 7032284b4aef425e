"""The runs catalog: descriptions, damaged folders, grouping by emotion and dataset, the default selection."""

import json
import os
import shutil

import pytest

from emogan.errors import RunError
from emogan.models import REGISTRY
from emogan.runs.catalog import RunInfo, default_selection, groups, list_runs, model_rank, seeds_of, signature, sort_runs


def copy_run(src, dst, **config_changes):
    shutil.copytree(src, dst)
    if config_changes:
        cfg = json.loads((dst / "config.json").read_text())
        cfg.update(config_changes)
        (dst / "config.json").write_text(json.dumps(cfg))
    return dst


@pytest.fixture
def root(explorer_runs, tmp_path):
    for run in explorer_runs.iterdir():
        copy_run(run, tmp_path / run.name)
    copy_run(explorer_runs / "M2-all-s0", tmp_path / "M2-happy-s0", emotion="happy")
    copy_run(explorer_runs / "M2-all-s0", tmp_path / "M2-all-s1", seed=1)
    copy_run(explorer_runs / "M2-all-s0", tmp_path / "M2-all-s2", seed=2)
    broken = copy_run(explorer_runs / "M1-all-s0", tmp_path / "broken")
    (broken / "index.json").write_text("[")
    return tmp_path


def test_describe_reads_every_run_and_explains_damage(root):
    infos = {i.name: i for i in list_runs(root)}
    assert len(infos) == 10
    assert "index.json: not valid JSON" in infos["broken"].error
    m1 = infos["M1-all-s0"]
    assert (m1.model, m1.emotion, m1.state, m1.iteration, m1.iters) == ("M1", "all", "done", 40, 40)
    assert m1.dataset.startswith("fer2013 (") and m1.error is None
    with pytest.raises(RunError, match="runs folder not found"):
        list_runs(root / "nope")


def test_groups_separate_emotions_and_put_the_full_ladder_first(root):
    by_group = groups(list_runs(root))
    labels = list(by_group)
    assert labels[0].startswith("all · fer2013") and labels[1].startswith("happy · fer2013")
    assert [r.name for r in by_group[labels[1]]] == ["M2-happy-s0"]
    assert "broken" not in {r.name for rs in by_group.values() for r in rs}


def test_default_selection_is_one_run_per_model_in_ladder_order(root):
    by_group = groups(list_runs(root))
    first = next(iter(by_group.values()))
    models = [r.model for r in first]
    assert default_selection(first) == [f"{m}-all-s0" for m in REGISTRY if m in models]
    assert default_selection(first)[:6] == [f"M{i}-all-s0" for i in range(1, 7)]
    odd = [RunInfo("zeta", root, "M7"), RunInfo("alpha", root, "M7"), RunInfo("bad", root, "M1", error="x")]
    assert default_selection(odd) == ["alpha"]               # one run per model, the first by name without an -s0
    unknown = [RunInfo("zeta", root, "X"), RunInfo("alpha", root, "X")]
    assert default_selection(unknown) == ["alpha", "zeta"]   # no registered model: the first runs instead
    assert default_selection([]) == []


def test_the_seed_filter_selects_one_run_per_model_and_seed(root):
    first = next(iter(groups(list_runs(root)).values()))
    assert seeds_of(first) == [0, 1, 2]
    assert default_selection(first) == [f"M{i}-all-s0" for i in range(1, 7)]          # seed 0 alone by default
    assert default_selection(first, seeds={1, 2}) == ["M2-all-s1", "M2-all-s2"]
    assert default_selection(first, seeds={0, 2})[:3] == ["M1-all-s0", "M2-all-s0", "M2-all-s2"]
    assert default_selection(first, seeds=set()) == []


def test_one_run_description_serves_the_listing_and_the_explorer(root):
    from emogan.runs import store as runs

    assert RunInfo is runs.RunInfo
    assert {i.name: i for i in runs.scan_runs(root)} == {i.name: i for i in list_runs(root)}


def test_model_order_follows_the_registry():
    runs = [RunInfo("b", None, "M10"), RunInfo("a", None, "M7"), RunInfo("c", None, "M2")]
    assert [r.model for r in sort_runs(runs)] == ["M2", "M7", "M10"]
    assert model_rank("M1") < model_rank("M6") < model_rank("custom")


def test_the_signature_changes_when_a_run_appears_takes_a_snapshot_or_goes(explorer_runs, tmp_path):
    assert signature(tmp_path / "missing") is None
    assert signature(tmp_path) == ()
    (tmp_path / "notes").mkdir()                        # not a run: no config.json
    (tmp_path / ".logs").mkdir()
    (tmp_path / "file.txt").write_text("")
    assert signature(tmp_path) == ()
    run = copy_run(explorer_runs / "M1-all-s0", tmp_path / "M1-all-s0")
    first = signature(tmp_path)
    assert [name for name, *_ in first] == ["M1-all-s0"] == [r.name for r in list_runs(tmp_path)]
    index = run / "index.json"
    os.utime(index, ns=(index.stat().st_atime_ns, index.stat().st_mtime_ns + 10**9))       # a snapshot, or the end
    assert signature(tmp_path) != first
    shutil.rmtree(run)
    assert signature(tmp_path) == ()
