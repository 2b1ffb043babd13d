"""Authentication and authorisation: who asks (token or session cookie) and which role each route declares."""

from app.auth.deps import (
    Admin, AdminDep, CurrentUserDep, LoginRequired, OptionalUserDep, Public, Reviewer, ReviewerDep, current_user,
    declared_roles, optional_user, require_admin, require_api_user, require_page_user, require_reviewer,
)
from app.auth.setup import install, on_startup

__all__ = [
    "Admin", "AdminDep", "CurrentUserDep", "LoginRequired", "OptionalUserDep", "Public", "Reviewer",
    "ReviewerDep", "current_user", "declared_roles", "install", "on_startup", "optional_user",
    "require_admin", "require_api_user", "require_page_user", "require_reviewer",
]
