"""Give freed memory back to the system, so a long-lived process's size follows its work.

glibc raises its mmap threshold each time a large block is freed (up to 32 MB), after which
blocks of that size come from the heap and stay counted in the process's RSS when freed:
decoding season photos (36 MB of pixels for a 12-megapixel JPEG) left each ingest worker at
about 160 MB.  A fixed threshold turns the adjustment off: large blocks are mapped and unmapped
each time, which costs little next to decoding them.
"""

from __future__ import annotations

import contextlib
import ctypes

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def return_freed_memory(threshold: int = 256 * 1024) -> None:
    """Blocks from `threshold` bytes on are mapped apart and unmapped when freed (glibc only;
    elsewhere nothing happens)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, threshold)
        libc.mallopt(_M_TRIM_THRESHOLD, threshold)
        # Each thread that mallocs gets an arena of its own otherwise (the video threads).
        libc.mallopt(_M_ARENA_MAX, 2)


def trim() -> None:
    """Hand the heap's free pages back now; a worker calls it after each message (measured:
    a worker at 147 MB after a message was at 129 MB after this)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
