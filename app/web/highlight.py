"""Search matches marked in a text: the text is escaped, then each match of the query is wrapped in
<mark>. The window starts a little before the first match, so a match deep in a long text shows.

The list clips a text to three lines and keeps its line breaks, so the window never starts before
the line that holds the match: context from an earlier line would push the match out of sight.
Case is ignored for ASCII letters only, as the search itself does (app/services/text_search.py)."""

import re

from markupsafe import Markup, escape

CONTEXT_BEFORE = 40


def _window_start(text: str, match_start: int) -> int:
    """Where the shown window begins: at most CONTEXT_BEFORE characters before the match, on its line,
    at the start of a word."""
    start = max(0, match_start - CONTEXT_BEFORE)
    line_break = text.rfind("\n", start, match_start)
    if line_break != -1:
        return line_break + 1
    if start > 0:
        space = text.find(" ", start, match_start)
        start = space + 1 if space != -1 else start
    return start


def highlight(text: str | None, query: str | None, length: int = 300) -> Markup:
    text = text or ""
    if not query:
        return escape(text if len(text) <= length else text[:length] + "…")
    pattern = re.compile(re.escape(query), re.IGNORECASE | re.ASCII)
    first = pattern.search(text)
    start = _window_start(text, first.start()) if first else 0
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
