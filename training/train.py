"""Train a model from a YAML config, with key=value overrides.

    python training/train.py configs/default.yaml
    python training/train.py configs/default.yaml train.epochs=3 model.encoder=/path/to/bert-base-cased

Interrupted runs resume from their last checkpoint when started again with the same output_dir.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conflict_ie.api.cli import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main(["train", *sys.argv[1:]]))
