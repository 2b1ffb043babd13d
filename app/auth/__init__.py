"""Authentication and authorisation: who asks (token or session cookie) and what their role may do."""

from app.auth.deps import (
    AdminDep, CurrentUserDep, LoginRequired, OptionalUserDep, current_user, optional_user, require_admin,
    require_api_user, require_page_user,
)
from app.auth.setup import install, on_startup

__all__ = [
    "AdminDep", "CurrentUserDep", "LoginRequired", "OptionalUserDep", "current_user",
    "install", "on_startup", "optional_user", "require_admin", "require_api_user",
    "require_page_user",
]
