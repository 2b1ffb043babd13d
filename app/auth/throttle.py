"""Slow down password guessing: after too many failed logins for one username or from one address
within the window, further attempts are refused (429) until it passes.

Kept in memory, per process: a restart forgets it, and N workers allow N times the attempts.
"""

import threading
import time
from collections import deque

MAX_FAILURES_PER_USERNAME = 10
MAX_FAILURES_PER_ADDRESS = 30
WINDOW_SECONDS = 15 * 60


class LoginThrottle:
    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > WINDOW_SECONDS:
            times.popleft()
        return times

    def retry_after(self, username: str, address: str) -> int:
        """Seconds until another attempt is allowed; 0 if allowed now."""
        now = time.monotonic()
        with self._lock:
            waits = [WINDOW_SECONDS - (now - times[0])
                     for key, limit in ((f"user:{username.casefold()}", MAX_FAILURES_PER_USERNAME),
                                        (f"addr:{address}", MAX_FAILURES_PER_ADDRESS))
                     if len(times := self._recent(key, now)) >= limit]
        return int(max(waits)) + 1 if waits else 0

    def failed(self, username: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"user:{username.casefold()}", f"addr:{address}"):
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # bound the memory a flood of made-up usernames can take
                self._failures.clear()

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.casefold()}", None)


def throttle_of(app) -> LoginThrottle:
    if not hasattr(app.state, "login_throttle"):
        app.state.login_throttle = LoginThrottle()
    return app.state.login_throttle
