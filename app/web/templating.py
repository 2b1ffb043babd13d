"""Jinja2 rendering: a whole page, or one named block of it as an htmx fragment.

One template serves both ("Template Fragments"): a route renders the page for a normal request
and only `block` for an htmx request, so the markup of a fragment exists once.
"""

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.web import csrf
from app.web.highlight import highlight
from app.web.diffing import diff_segments

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    # Autoescape every template whatever its suffix: user text never becomes markup.
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def _datetime(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _describe(value: Any) -> str:
    """A nested dict of counts as one readable line: `a 1, b: (c 2, d 3)`; empty parts left out."""
    if isinstance(value, dict):
        parts = [f"{str(k).replace('_', ' ')} {_describe(v)}" if not isinstance(v, dict) else
                 f"{str(k).replace('_', ' ')}: ({_describe(v)})" for k, v in value.items() if v not in ({}, [], None, 0)]
        return ", ".join(parts)
    return str(value)


env.filters["pretty_json"] = _pretty_json
env.filters["describe"] = _describe
env.filters["dt"] = _datetime
env.filters["highlight"] = highlight
# Word-level differences, for every page that shows two texts side by side (review queue, preference pairs).
env.globals["diff"] = diff_segments
# The shared page pieces (pager, tabs, action buttons, alerts), as `ui.<macro>` in every template.
env.globals["ui"] = env.get_template("_macros.html").module


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


def render(request: Request, template: str, context: dict[str, Any] | None = None, *, block: str | None = None,
           status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """The page, or only `block` of it when given. Sets the CSRF cookie when the browser has none yet."""
    token = csrf.token_for(request)
    values = {"request": request, "csrf_token": token, **(context or {})}
    tmpl = env.get_template(template)
    if block is None:
        html = tmpl.render(values)
    else:
        html = "".join(tmpl.blocks[block](tmpl.new_context(values)))
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    csrf.set_cookie_if_new(request, response, token)
    return response


def render_htmx(request: Request, template: str, context: dict[str, Any] | None = None, *, block: str,
                status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """`block` for an htmx request, the whole page otherwise."""
    return render(request, template, context, block=block if is_htmx(request) else None,
                  status_code=status_code, headers=headers)
