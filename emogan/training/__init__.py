"""Training: the step and the loop (loop.py), one run folder while it trains (session.py), the train state and its
resume file (state.py), CUDA graphs, Ctrl-C handling, DiffAugment and the GAN losses."""
