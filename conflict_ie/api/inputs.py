"""Article files in: the text files and folders of .txt files a user names on a command line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def read_text_files(paths: Sequence[str | Path]) -> list[tuple[Path, str]]:
    """(file, text) for each file, and each .txt file of a folder in name order. A missing path, an empty folder
    or a file that is not UTF-8 raises ValueError naming it (and the byte offset)."""
    texts = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.is_file())
            if not files:
                raise ValueError(f"folder {path} holds no .txt files")
        elif path.is_file():
            files = [path]
        else:
            raise ValueError(f"{path} does not exist")
        for file in files:
            try:
                texts.append((file, file.read_text(encoding="utf-8-sig")))
            except UnicodeDecodeError as error:
                raise ValueError(f"{file} is not UTF-8 text (byte {error.start})") from None
    return texts
