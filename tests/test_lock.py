"""emogan/lock.py: one writer per run folder."""

import fcntl
import os
import threading

import pytest

from emogan.errors import RunError
from emogan.runs.lock import TRAIN_LOCK, FolderLock, holder


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


def test_a_probe_names_the_holder_writes_nothing_and_never_makes_a_starting_holder_fail(tmp_path):
    assert holder(tmp_path, TRAIN_LOCK) is None                     # no lock file: nobody
    with FolderLock(tmp_path, TRAIN_LOCK, "trained"):
        before = (tmp_path / TRAIN_LOCK).read_bytes()
        assert holder(tmp_path, TRAIN_LOCK) == os.getpid()
        assert (tmp_path / TRAIN_LOCK).read_bytes() == before
    assert holder(tmp_path, TRAIN_LOCK) is None and (tmp_path / TRAIN_LOCK).read_bytes() == before

    # A probe's shared lock, held a little longer than a real probe's instant: a trainer starting meanwhile waits
    # for it instead of reporting the run as taken.
    fd = os.open(tmp_path / TRAIN_LOCK, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    threading.Timer(0.1, os.close, [fd]).start()
    FolderLock(tmp_path, TRAIN_LOCK, "trained").acquire().release()
