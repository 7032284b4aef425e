"""emogan/provenance.py: the commit and device that results record."""

import subprocess

import torch

from emogan.runs.provenance import REPO, device_name, git_commit


def test_commit_is_the_checkout_head(monkeypatch):
    monkeypatch.delenv("EMOGAN_COMMIT", raising=False)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert git_commit() == (head.stdout.strip() or None)


def test_commit_from_the_environment_where_git_is_absent(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOGAN_COMMIT", "0123abc")
    assert git_commit(tmp_path) == "0123abc"
    monkeypatch.delenv("EMOGAN_COMMIT")
    assert git_commit(tmp_path) is None              # not a repository: unknown, not an error


def test_cpu_name_says_threads():
    name = device_name(torch.device("cpu"))
    assert name.startswith("cpu (") and f"{torch.get_num_threads()} threads" in name
