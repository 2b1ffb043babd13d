"""Search matches marked in a text: the text is escaped, then each case-insensitive match of the query
is wrapped in <mark>. The window starts just before the first match, so a match deep in a long text shows."""

import re

from markupsafe import Markup, escape

CONTEXT_BEFORE = 60


def highlight(text: str | None, query: str | None, length: int = 300) -> Markup:
    text = text or ""
    if not query:
        return escape(text if len(text) <= length else text[:length] + "…")
    pattern = re.compile(re.escape(query), re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, first.start() - CONTEXT_BEFORE) if first else 0
    window = text[start:start + length]
    pieces, last = [], 0
    for match in pattern.finditer(window):
        pieces.append(escape(window[last:match.start()]))
        pieces.append(Markup("<mark>") + escape(match.group(0)) + Markup("</mark>"))
        last = match.end()
    pieces.append(escape(window[last:]))
    prefix = "…" if start else ""
    suffix = "…" if start + length < len(text) else ""
    return Markup(prefix) + Markup("").join(pieces) + Markup(suffix)
