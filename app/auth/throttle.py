"""Slow down password guessing: after too many sign-in attempts for one username or from one address
within the window, further attempts are refused (429) until the window has passed.

The counts live in the database (`login_counters`), so every process and instance shares them and a
restart forgets nothing. An attempt is reserved, i.e. counted, atomically (one upsert that returns the
new count) BEFORE the password is checked, so concurrent guesses cannot all slip under the limit; a
successful sign-in then gives its reservation back. The table is bounded: expired windows are deleted,
and beyond `max_keys` entries the oldest ones go, never all of them.
"""

import threading
import time
from dataclasses import dataclass

from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.db import session_scope
from app.models import LoginCounter

SWEEP_INTERVAL_SECONDS = 30


@dataclass(frozen=True)
class ThrottleLimits:
    per_username: int = 10
    per_address: int = 30
    window_seconds: float = 15 * 60
    max_keys: int = 100_000


def _keys(username: str, address: str, limits: ThrottleLimits) -> list[tuple[str, int]]:
    return [(f"user:{username.casefold()}"[:300], limits.per_username), (f"addr:{address}"[:300], limits.per_address)]


def _count_attempt(session: Session, key: str, now: float, window: float) -> tuple[int, float]:
    """Add one attempt to `key`'s window (a new window if the old one expired); the new count and window start."""
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(LoginCounter)
    expired = LoginCounter.window_start < now - window
    statement = insert.values(key=key, window_start=now, attempts=1).on_conflict_do_update(
        index_elements=[LoginCounter.key],
        set_={"attempts": case((expired, 1), else_=LoginCounter.attempts + 1),
              "window_start": case((expired, now), else_=LoginCounter.window_start)},
    ).returning(LoginCounter.attempts, LoginCounter.window_start)
    attempts, start = session.execute(statement).one()
    return attempts, start


class LoginThrottle:
    def __init__(self, limits: ThrottleLimits | None = None) -> None:
        self.limits = limits or ThrottleLimits()
        self._last_sweep = 0.0
        self._sweep_lock = threading.Lock()

    def reserve(self, username: str, address: str) -> int:
        """Count this attempt; 0 if it may go ahead, else the seconds until the next one is allowed."""
        now = time.time()
        waits = []
        with session_scope() as session:
            for key, limit in _keys(username, address, self.limits):
                attempts, start = _count_attempt(session, key, now, self.limits.window_seconds)
                if attempts > limit:
                    waits.append(start + self.limits.window_seconds - now)
        self._maybe_sweep(now)
        return int(max(waits)) + 1 if waits else 0

    def succeeded(self, username: str, address: str) -> None:
        """The password was right: the user's count starts again, and the address gets its attempt back."""
        user_key, address_key = (key for key, _ in _keys(username, address, self.limits))
        with session_scope() as session:
            session.execute(delete(LoginCounter).where(LoginCounter.key == user_key))
            counter = session.get(LoginCounter, address_key)
            if counter is not None and counter.attempts > 0:
                counter.attempts -= 1

    def _maybe_sweep(self, now: float) -> None:
        with self._sweep_lock:
            if now - self._last_sweep < SWEEP_INTERVAL_SECONDS:
                return
            self._last_sweep = now
        self.sweep(now)

    def sweep(self, now: float | None = None) -> int:
        """Delete expired windows, then the oldest entries beyond `max_keys`. Returns how many went."""
        now = time.time() if now is None else now
        with session_scope() as session:
            removed = session.execute(delete(LoginCounter).where(
                LoginCounter.window_start < now - self.limits.window_seconds)).rowcount or 0
            excess = (session.scalar(select(func.count()).select_from(LoginCounter)) or 0) - self.limits.max_keys
            if excess > 0:
                oldest = select(LoginCounter.key).order_by(LoginCounter.window_start).limit(excess).scalar_subquery()
                removed += session.execute(delete(LoginCounter).where(LoginCounter.key.in_(oldest))).rowcount or 0
        return removed


def throttle_of(app) -> LoginThrottle:
    if not hasattr(app.state, "login_throttle"):
        from app.config import get_settings

        settings = get_settings()
        app.state.login_throttle = LoginThrottle(ThrottleLimits(
            per_username=settings.login_max_attempts_per_username, per_address=settings.login_max_attempts_per_address,
            window_seconds=settings.login_window_minutes * 60, max_keys=settings.login_max_tracked_keys))
    return app.state.login_throttle
