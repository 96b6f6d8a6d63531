"""Training: the data a run reads (``data``), its state (``state``), its folders and checkpoints
(``checkpoint``), and the loop (``trainer``). ``train(config)`` runs it all."""

from .trainer import train

__all__ = ["train"]
