"""The one shape of a progress callback: jobs, the analysis, embedding and imports all report through it."""

from typing import Protocol


class Progress(Protocol):
    """`report(done, total, message)`: how far some work got; an argument left None is unchanged."""

    def __call__(self, done: int | None = None, total: int | None = None, message: str | None = None) -> None: ...
