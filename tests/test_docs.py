"""The docs link only to files inside the repository, and those files exist."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ["README.md", "docs/architecture.md", "docs/analysis.md", "docs/exports.md", "docs/review.md",
        "docs/security.md", "docs/imports.md", "benchmarks/README.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("doc", DOCS)
def test_links_stay_inside_the_repository(doc):
    path = ROOT / doc
    for target in LINK.findall(path.read_text()):
        if target.startswith(("#", "http://127.0.0.1", "http://localhost")):
            continue
        assert not re.match(r"^[a-z]+://", target), f"{doc} links outside the repository: {target}"
        resolved = (path.parent / target.split("#")[0]).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc} links outside the repository: {target}"
        assert resolved.exists(), f"{doc} links to a missing file: {target}"
