"""Word-level differences between two texts, for showing duplicate clusters side by side."""

import difflib
import re

TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
MAX_DIFF_CHARS = 20_000


def diff_segments(reference: str, other: str) -> list[tuple[str, str]]:
    """`other` as (kind, text) pieces: "same", "ins" (not in reference); "del" pieces are reference text missing here.

    The template escapes every piece, so user text stays text.
    """
    if len(reference) > MAX_DIFF_CHARS or len(other) > MAX_DIFF_CHARS:
        return [("same", other)]
    a, b = TOKEN.findall(reference), TOKEN.findall(other)
    segments: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal" or not "".join(a[i1:i2] + b[j1:j2]).strip():
            # Whitespace-only changes (a line break for a space) are not differences a reviewer needs.
            segments.append(("same", "".join(b[j1:j2])))
            continue
        if op in ("delete", "replace"):
            segments.append(("del", "".join(a[i1:i2])))
        if op in ("insert", "replace"):
            segments.append(("ins", "".join(b[j1:j2])))
    return segments
