"""After a job, the heap pages it freed go back to the system (glibc's malloc_trim), so the next job's
peak does not sit on top of the last one's leftovers."""

import sys

import pytest

from app.jobs.memory import _malloc_trim, release_freed_memory


def test_freed_heap_pages_leave_the_process_after_a_trim():
    if not sys.platform.startswith("linux") or _malloc_trim() is None:
        pytest.skip("malloc_trim is glibc's")
    import psutil

    process = psutil.Process()
    # 64 KB blocks come from malloc's heap (under its mmap threshold); freeing every other one leaves
    # holes that free() keeps mapped, which only a trim hands back.
    blocks = [bytes(64 * 1024 - 64) for _ in range(3_000)]
    del blocks[::2]
    held = process.memory_info().rss
    assert release_freed_memory()
    assert held - process.memory_info().rss > 40 * 2**20
    assert len(blocks) == 1_500
