"""What the explorer and the CLI draw from runs: loss curves, sample galleries with their change maps, the
timeline and its GIFs, and walks through the latent space."""
