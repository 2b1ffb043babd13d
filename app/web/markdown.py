"""A dataset's description (the labelling guidelines) as safe HTML.

markdown-it-py with raw HTML switched off: `<script>` in a description comes out as text, and its
link validation refuses `javascript:` and other unsafe URLs.
"""

from markdown_it import MarkdownIt
from markupsafe import Markup

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str) -> Markup:
    return Markup(_renderer.render(text)) if text.strip() else Markup("")
