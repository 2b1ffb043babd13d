"""Give the memory a finished job freed back to the operating system.

A job allocates in bulk (a million texts, their vectors, the label model's features) and frees it all
at the end, but glibc keeps freed heap pages mapped until `malloc_trim` (its mmap threshold grows to
32 MB after a large free, so later arrays up to that size come from the heap too). Without a trim, the
1,000,000-pair benchmark process held 1.6 GB it no longer used when the re-analysis started, under
that job's own peak (benchmarks/README.md, "Scale"). Elsewhere than glibc this does nothing.
"""

import ctypes
import ctypes.util
import gc
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_freed_memory() -> bool:
    """Collect garbage, then return free heap pages to the system; whether a trim ran (glibc only)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
