"""Who may do what, decided from the route's path template and method, so new routes are covered.

`admin` may do everything. `reviewer` reads, reviews and edits pairs:
- reading (GET/HEAD) is allowed except under admin-only areas (users, exports);
- writing (POST/PUT/PATCH) is allowed only on paths about examples, findings and review queues,
  and never on imports, uploads, analyses, exports or users;
- DELETE is admin-only (except revoking one's own API token).
A write route nobody listed here is admin-only: the default is to refuse.
"""

from app.models import Role, User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Any method on a path with one of these segments needs an admin.
ADMIN_AREAS = ("users", "export", "exports")
# Writes on a path with one of these segments need an admin even where a reviewer could write otherwise.
ADMIN_ACTIONS = ("import", "upload", "analyze", "analyse", "cancel", "settings")
# Segments under which a reviewer may write.
REVIEWER_WRITABLE = ("examples", "findings", "review", "reviews", "queue", "queues", "revisions", "bulk", "tokens",
                     "clusters")
# Paths every signed-in user may write on, whatever the rules above say (their own tokens, logout).
SELF_SERVICE_PREFIXES = ("/api/v1/tokens", "/api/v1/me", "/logout")


def _segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s and not s.startswith("{")]


def needs_admin(method: str, path: str) -> bool:
    """Whether `method` on the route with path template `path` is an admin action."""
    method = method.upper()
    if path.startswith(SELF_SERVICE_PREFIXES):
        return False
    segments = _segments(path)
    if any(s.startswith(ADMIN_AREAS) for s in segments):
        return True
    if method in SAFE_METHODS:
        return False
    if method == "DELETE":
        return True
    if any(s in ADMIN_ACTIONS for s in segments):
        return True
    return not any(s in REVIEWER_WRITABLE for s in segments)


def allowed(user: User, method: str, path: str) -> bool:
    return user.role == Role.admin or not needs_admin(method, path)
