"""An example's history: revert one recorded change (as a new revision, so the history stays whole)."""

from sqlmodel import Session

from app.errors import InvalidInput, NotFound
from app.models import Example, Revision
from app.schemas.example import ExampleUpdate
from app.services.examples import update_example


def revert_revision(session: Session, example_id: int, revision_id: int, version: int, author: str) -> Example:
    """Set the revision's field back to the value it had before that change. `version` is the version
    the reviewer saw: a stale one is a Conflict, as for any edit."""
    revision = session.get(Revision, revision_id)
    if revision is None or revision.example_id != example_id:
        raise NotFound(f"example {example_id} has no revision {revision_id}")
    if revision.field not in ExampleUpdate.model_fields or revision.field == "version":
        raise InvalidInput(f"a change of {revision.field} cannot be reverted", field="revision")
    return update_example(session, example_id, ExampleUpdate(version=version, **{revision.field: revision.old}),
                          author=author)
