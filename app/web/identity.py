"""Who is acting, for the audit trail (revisions)."""

from fastapi import Request


def author_of(request: Request) -> str:
    """The signed-in user's name once authentication sets `request.state.user`, else "web"."""
    user = getattr(request.state, "user", None)
    return getattr(user, "username", None) or "web"
