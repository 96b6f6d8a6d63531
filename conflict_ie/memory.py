"""Give freed heap memory back to the operating system: after each training step, and as a long article is
streamed through inference.

CPU training allocates and frees about a gigabyte of activations per step, in shapes that change from batch to
batch (window lengths, relation pair counts). glibc keeps freed blocks for reuse, and the heap fragments: the
default training's resident memory crept from 1.5 GB after one step to 6-7 GB by the end, although the live
tensors never exceeded about 2 GB. ``malloc_trim`` returns the free pages; the cost is re-faulting them in the
next step (a few tenths of a second of system time per step on 2 cores). Streaming a long article through
inference fragments the heap the same way (peak memory grew with the article's length although the live data did
not), so the runner trims after each batch of a long article. Elsewhere (macOS, musl, Windows) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import resource

_TRIM = None


def _malloc_trim():
    global _TRIM
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    return _TRIM


def release_freed_memory() -> None:
    trim = _malloc_trim()
    if trim:
        trim(0)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
