"""``python -m conflict_ie COMMAND``: the same command line as ``conflict-ie``."""

from .api.cli import main

raise SystemExit(main())
