"""Preference pairs: reviewer actions that only make sense on a pair (swapping its two answers)."""

from sqlmodel import Session

from app.errors import Conflict, InvalidInput
from app.models import Example
from app.schemas.example import ExampleUpdate
from app.services.examples import get_example, update_example


def swap_sides(session: Session, example_id: int, author: str, version: int | None = None) -> Example:
    """Make the rejected answer the chosen one and the other way round, as one new version of the example:
    its revisions record both fields. `version` (the one the reviewer saw) guards against a concurrent edit."""
    example = get_example(session, example_id)
    if example.rejected is None:
        raise InvalidInput(f"example {example_id} is not a preference pair: it has no rejected answer to swap",
                           field="example_id")
    if version is not None and version != example.version:
        raise Conflict(f"example {example_id} was changed by someone else (you saw version {version}, it is now "
                       f"at version {example.version}); reload it", current_version=example.version)
    return update_example(session, example_id, ExampleUpdate(version=example.version, output=example.rejected,
                                                             rejected=example.output), author=author)
