"""Markdown for report.md and the model card: the one place values from data or file names are escaped.

A model name, a split named after a file, a corpus path, a label or a fold id can hold anything: ``<img src=x
onerror=...>`` runs in a viewer that renders raw HTML, ``[x](javascript:...)`` becomes a link, ``|`` or a line
break ends a table row early. Every such value goes through ``escape`` (running text and table cells), ``code``
(inline code) or ``fence`` (a code block). Markup our own code adds is written around escaped values, and a table
cell our code emphasises is a ``Strong``; every other cell is escaped.
"""

from __future__ import annotations

import html
import re

# Characters Markdown would read as formatting (emphasis, code, links, tables, strikethrough), backslash-escaped.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]|~])")
# An underscore emphasises only at a word edge: one between two letters or digits (en_core_web_sm) stays as it is.
_EDGE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")
_BACKTICKS = re.compile(r"`+")


class Strong(str):
    """A table cell our code emphasises (an average row, a warning): escaped, then shown in bold."""


def _one_line(value) -> str:
    return _LINE_BREAKS.sub(" ", str(value))


def escape(value) -> str:
    """``value`` as literal Markdown text on one line: HTML special characters as entities, Markdown punctuation
    backslash-escaped, line breaks as spaces."""
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(_one_line(value), quote=False))
    return _EDGE_UNDERSCORE.sub(r"\\_", text)


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def code(value) -> str:
    """``value`` as an inline code span on one line: nothing inside is interpreted (no HTML, no links); the
    delimiter is longer than any run of backticks in the value."""
    text = _one_line(value)
    ticks = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(text: str, info: str = "") -> str:
    """``text`` as a fenced code block whose fence is longer than any run of backticks in it."""
    ticks = "`" * max(3, _longest_backtick_run(text) + 1)
    return f"{ticks}{info}\n{text.rstrip(chr(10))}\n{ticks}"


def cell(value) -> str:
    """One table cell: a ``Strong`` in bold, anything else escaped."""
    return f"**{escape(value)}**" if isinstance(value, Strong) and value else escape(value)


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table, first column left-aligned and the rest right-aligned; every cell through ``cell``."""
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
