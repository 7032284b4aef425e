"""emogan/lock.py: one writer per run folder."""

import os

import pytest

from emogan.errors import RunError
from emogan.runs.lock import TRAIN_LOCK, FolderLock


def test_second_holder_is_refused_with_the_first_ones_pid(tmp_path):
    with FolderLock(tmp_path, TRAIN_LOCK, "trained"):
        with pytest.raises(RunError) as e:
            FolderLock(tmp_path, TRAIN_LOCK, "trained").acquire()
        assert str(e.value) == (f"{tmp_path}: being trained by another process (pid {os.getpid()}); "
                                "wait for it or stop it first")
    with FolderLock(tmp_path, TRAIN_LOCK, "trained"):       # released: free again
        pass


def test_locks_of_different_jobs_do_not_conflict(tmp_path):
    with FolderLock(tmp_path, TRAIN_LOCK, "trained"), FolderLock(tmp_path, ".metrics.lock", "measured"):
        pass


def test_unwritable_folder_is_one_line(tmp_path):
    with pytest.raises(RunError, match="cannot create the lock file"):
        FolderLock(tmp_path / "missing", TRAIN_LOCK, "trained").acquire()
