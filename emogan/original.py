"""What the original student project ("Emotions based face generation GANs", Keras) reported, to compare with."""

from __future__ import annotations

# The iterations its slides showed faces at; every run takes a snapshot with weights there.
ORIGINAL_ITERATIONS = (950, 1900, 2950, 4110, 4700, 4850)

# Its printed losses at iteration 5000: model -> (loss_G, loss_D).
ORIGINAL_FINAL_LOSSES = {"M1": (0.79, 0.81), "M2": (1.09, 0.66), "M3": (1.17, 0.60), "M4": (2.07, 0.46),
                         "M5": (4.23, 0.33), "M6": (1.23, 0.68)}
