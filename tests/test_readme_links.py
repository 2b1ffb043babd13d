"""The README's relative links and anchors lead somewhere inside the repository (no dead quickstart link)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 _-]", "", heading.lower()).replace(" ", "-")


def test_readme_links_resolve_inside_the_repository():
    text = (ROOT / "README.md").read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}
    dead = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        if path:
            resolved = (ROOT / path).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                dead.append(target)
        elif anchor not in anchors:
            dead.append(target)
    assert dead == []
