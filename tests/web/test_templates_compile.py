"""Every template parses, macros included: a bad merge of a fragment otherwise surfaces as a 500 on one page."""

from pathlib import Path

import pytest

from app.web.templating import TEMPLATES_DIR, env

TEMPLATES = sorted(str(p.relative_to(TEMPLATES_DIR)) for p in Path(TEMPLATES_DIR).rglob("*.html"))


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_compiles(name):
    env.get_template(name)


def test_the_shared_macros_are_available_everywhere():
    assert {"alert", "errors_alert", "dataset_tabs", "pager", "page_link", "action_button"} <= set(dir(env.globals["ui"]))
