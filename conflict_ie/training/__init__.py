"""Training: the data a run reads, its state, checkpoints, and the loop."""
