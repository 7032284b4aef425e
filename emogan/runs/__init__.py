"""The run store: run folders and their files (store.py), generator checkpoints, paths kept inside their roots, the
folder lock, atomic writes, provenance, the catalog of a runs root, and the export of runs into a demo folder."""
