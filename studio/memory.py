"""Hand freed memory back to the operating system after a burst of large allocations.

glibc's malloc keeps freed blocks for reuse, and after a large block is freed it raises its threshold for
serving blocks from their own mappings, so the arrays of one re-score (thousands of samples, their
features, the runtimes' activations) stayed resident: 2 GB after an image re-score. ``malloc_trim``
returns the free pages; it is a no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import functools


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only: musl and macOS have no malloc_trim
    except (OSError, AttributeError):
        return None
    return libc


def release_free_memory() -> bool:
    """Return free heap pages to the OS; True when glibc released some."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
