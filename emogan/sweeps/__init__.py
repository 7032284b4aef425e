"""Sweeps: a grid of training runs (models x seeds x emotions), each a normal run folder trained by the `train`
command, run by local processes or by submitit (SLURM, or its local executor), resumable by construction."""
