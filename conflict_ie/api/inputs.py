"""Article files in: the text files, folders of .txt files and standard input a user names on a command line.

The rules (README, "Command line"):

- A file named on the command line is read whatever its name.
- A folder gives its files whose name ends in ``.txt`` in any case (``B.TXT`` too), in name order. It is not read
  recursively, and hidden files (a name starting with ".") and other files are skipped; every skipped entry is
  listed with its reason.
- Text is UTF-8. A UTF-8 byte order mark is dropped and nothing else changes: line endings stay as they are in the
  file, so character offsets index exactly the text ``open(path, encoding="utf-8-sig", newline="").read()`` gives.
- A file that cannot be read (missing, UTF-16 or UTF-32, invalid UTF-8, binary) fails alone with its reason,
  and the other files are still read, unless ``strict``: then the first failure raises ``InputError``.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ARTICLE_SUFFIX = ".txt"
# Byte order marks of the encodings an article must not be in, longest first (UTF-32 LE starts like UTF-16 LE).
_OTHER_ENCODINGS = ((codecs.BOM_UTF32_LE, "UTF-32 (little-endian)"), (codecs.BOM_UTF32_BE, "UTF-32 (big-endian)"),
                    (codecs.BOM_UTF16_LE, "UTF-16 (little-endian)"), (codecs.BOM_UTF16_BE, "UTF-16 (big-endian)"))


class InputError(ValueError):
    """An article input that cannot be read; the message names it and says why."""


@dataclass
class ArticleFiles:
    """What reading the inputs gave: the texts, the entries of folders that were skipped, and the inputs that
    failed, each with its reason."""

    texts: list[tuple[str, str]] = field(default_factory=list)  # (name, text)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)

    def notes(self) -> list[str]:
        """One line per skipped entry and per failed input, for standard error."""
        return ([f"skipped {name}: {reason}" for name, reason in self.skipped]
                + [f"FAILED {name}: {reason}" for name, reason in self.failed])


def decode_article(data: bytes, name: str) -> str:
    """The text of an article file's bytes: UTF-8, its byte order mark dropped, line endings untouched."""
    for mark, encoding in _OTHER_ENCODINGS:
        if data.startswith(mark):
            raise InputError(f"{name} is {encoding} text (it starts with that byte order mark), not UTF-8: save it "
                             f"as UTF-8, e.g. iconv -f {encoding.split()[0]} -t UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{name} is not UTF-8 text: invalid byte 0x{data[error.start]:02x} at byte offset "
                         f"{error.start}") from None
    if "\x00" in text:
        raise InputError(f"{name} looks binary, not text: NUL character at offset {text.index(chr(0))}")
    return text


def read_articles(paths: Sequence[str | Path], *, strict: bool = False) -> ArticleFiles:
    """Read every file named and every article file of every folder named (see the module's rules)."""
    result = ArticleFiles()

    def fail(name: str, reason: str) -> None:
        if strict:
            raise InputError(f"{name}: {reason}" if not reason.startswith(name) else reason)
        result.failed.append((name, reason))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = _folder_articles(path, result.skipped)
            if not files:
                fail(str(path), f"folder holds no {ARTICLE_SUFFIX} files")
        elif path.exists():
            files = [path]
        else:
            fail(str(path), "does not exist")
            continue
        for file in files:
            try:
                result.texts.append((str(file), decode_article(file.read_bytes(), str(file))))
            except InputError as error:
                fail(str(file), str(error))
            except OSError as error:
                fail(str(file), f"cannot be read ({error.strerror or error})")
    return result


def _folder_articles(folder: Path, skipped: list[tuple[str, str]]) -> list[Path]:
    files = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            skipped.append((str(entry), "hidden"))
        elif entry.is_dir():
            skipped.append((str(entry), "a folder (folders are not read recursively)"))
        elif entry.suffix.lower() != ARTICLE_SUFFIX:
            skipped.append((str(entry), f"not a {ARTICLE_SUFFIX} file"))
        else:
            files.append(entry)
    return files
