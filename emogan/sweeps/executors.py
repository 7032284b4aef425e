"""Where a sweep's jobs run. A job is a list of CLI commands (`train`, then maybe `metrics`) run one after the
other; the executor starts it and says when it has ended.

- local: each job is a chain of `python -m emogan ...` processes on this machine, as many jobs at once as asked.
- submitit: each job is one submitit job running the same commands through `emogan.cli.main`, on SLURM when the
  machine has it and in local processes otherwise (submitit's own local executor: the same code path).
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Protocol

from emogan.errors import DataError
from emogan.runs.launch import launch


class Handle(Protocol):
    def poll(self) -> int | None:
        """None while running, else the exit status of the job (0: every command succeeded)."""

    def interrupt(self) -> None:
        """What Ctrl-C does to a `train`: it writes its snapshot and stops, resumable."""

    def kill(self) -> None: ...


class LocalHandle:
    """A chain of CLI processes, started one after the other while each succeeds."""

    def __init__(self, argvs: list[list[str]], threads: int, log: Path) -> None:
        self.argvs, self.threads, self.log_path = list(argvs), threads, log
        self.proc: subprocess.Popen | None = None
        self.status: int | None = None
        self.stopping = False
        self._next()

    def _next(self) -> None:
        # A session of its own: Ctrl-C in the sweep's terminal reaches the sweep, which passes it on once.
        self.proc = launch(self.argvs.pop(0), self.log_path, self.threads)

    def poll(self) -> int | None:
        if self.status is not None:
            return self.status
        rc = self.proc.poll()
        if rc is None:
            return None
        if rc == 0 and self.argvs and not self.stopping:
            self._next()
            return None
        self.status = rc
        return rc

    def interrupt(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)

    def kill(self) -> None:
        self.stopping = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()


class LocalExecutor:
    name = "local"

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def submit(self, argvs: list[list[str]], log: Path) -> LocalHandle:
        return LocalHandle(argvs, self.threads, log)


def run_commands(argvs: list[list[str]], threads: int) -> int:
    """A job's commands in this process (what a submitit job runs): the first failure's status, else 0."""
    import torch

    from emogan.cli import main

    torch.set_num_threads(threads)
    for argv in argvs:
        status = main(argv)
        if status:
            return status
    return 0


class SubmititHandle:
    def __init__(self, job) -> None:
        self.job = job

    def poll(self) -> int | None:
        if not self.job.done():
            return None
        try:
            return int(self.job.result())
        except Exception:       # the job's own traceback is in its submitit log; here it is a failed job
            return 1

    def interrupt(self) -> None:
        # Locally this is SIGINT, on which `train` writes its snapshot; on SLURM it is scancel, and the run
        # continues from its last snapshot the next time the sweep is started.
        self.job.cancel(check=False)

    def kill(self) -> None:
        self.job.cancel(check=False)


class SubmititExecutor:
    name = "submitit"

    def __init__(self, folder: Path, threads: int, parameters: dict, cluster: str | None = None) -> None:
        try:
            import submitit
        except ModuleNotFoundError:
            raise DataError("the submitit executor needs the submitit package: pip install submitit") from None
        self.threads = threads
        self.executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
        # cpus_per_task: the job's threads; the rest (partition, time limit, ...) from the sweep's slurm table.
        self.executor.update_parameters(cpus_per_task=threads, **parameters)

    def submit(self, argvs: list[list[str]], log: Path) -> SubmititHandle:
        return SubmititHandle(self.executor.submit(run_commands, argvs, self.threads))
