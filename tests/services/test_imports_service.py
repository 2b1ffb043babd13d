"""run_import directly: the validation pass touches no database, the write pass is all or nothing."""

import io
import json

import pytest

from sqlalchemy import event, func, select

from app.importers import open_source
from app.models import Example, Revision
from app.schemas.dataset import DatasetCreate
from app.services.datasets import create_dataset
from app.services.imports import OnError, run_import


class CountingFile(io.BytesIO):
    """Counts how often the import rewinds to the start: once per pass over the file."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.passes = 0

    def seek(self, offset, whence=0):
        if offset == 0 and whence == 0:
            self.passes += 1
        return super().seek(offset, whence)


def source_of(records, format="auto"):
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    file = CountingFile(data)
    return open_source(file, format=format), file


def test_no_statement_reaches_the_database_before_the_file_is_validated(session, database):
    dataset = create_dataset(session, DatasetCreate(name="d"))
    session.commit()
    source, file = source_of([{"prompt": f"p{i}", "completion": "c"} for i in range(10)])
    file.passes = 0
    passes_at_first_statement = []

    def record(*_args):
        if not passes_at_first_statement:
            passes_at_first_statement.append((file.passes, file.tell()))

    event.listen(database, "before_cursor_execute", record)
    try:
        outcome = run_import(session, dataset.id, source)
    finally:
        event.remove(database, "before_cursor_execute", record)
    assert outcome.imported == 10
    # The first statement came once the validation pass had read the whole file.
    assert passes_at_first_statement == [(1, len(file.getvalue()))]


def test_bad_file_into_a_missing_dataset_is_answered_without_a_query(session, database):
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(database, "before_cursor_execute", listener)
    try:
        source, _ = source_of([{"prompt": 1, "completion": "c"}])
        outcome = run_import(session, 12345, source)
    finally:
        event.remove(database, "before_cursor_execute", listener)
    assert outcome.aborted and outcome.errors[0].field == "prompt"
    assert statements == []


def test_updates_and_inserts_in_batches(session):
    dataset = create_dataset(session, DatasetCreate(name="d", task_type="classification"))
    records = [{"id": f"r{i}", "prompt": f"p{i}", "completion": "a"} for i in range(25)]
    progress = []
    source, _ = source_of(records)
    outcome = run_import(session, dataset.id, source, batch_size=7, progress=progress.append)
    assert (outcome.imported, outcome.updated, outcome.format) == (25, 0, "prompt_completion")
    assert progress == [7, 14, 21, 25]
    records[24]["completion"] = "b"
    source, _ = source_of(records + [{"id": "new", "prompt": "x", "completion": "a"}])
    outcome = run_import(session, dataset.id, source, batch_size=7, on_error=OnError.skip)
    assert (outcome.imported, outcome.updated) == (1, 25)
    assert session.scalar(select(func.count()).select_from(Example)) == 26
    changed = session.scalars(select(Example).where(Example.external_id == "r24")).one()
    assert (changed.output, changed.label, changed.version) == ("b", "b", 2)
    fields = sorted(r.field for r in session.scalars(select(Revision).where(Revision.example_id == changed.id)))
    assert fields == ["label", "output"]


def test_cli_import_of_a_gzipped_file_creates_the_dataset_and_reports_bad_lines(tmp_path, session):
    import gzip

    from typer.testing import CliRunner

    from app.cli import cli
    from app.errors import NotFound
    from app.services.datasets import get_dataset_by_name

    path = tmp_path / "pairs.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write('{"id": "a", "prompt": "p", "completion": "games"}\n{"id": "b", "prompt": 3, "completion": "x"}\n')
    runner = CliRunner()
    aborted = runner.invoke(cli, ["import", str(path), "--dataset", "cli", "--task-type", "classification"])
    assert aborted.exit_code == 1 and "line 2: prompt" in aborted.output
    with pytest.raises(NotFound):  # an aborted import leaves nothing behind, not even the new dataset
        get_dataset_by_name(session, "cli")
    session.rollback()  # on SQLite this session's transaction holds the write lock the CLI needs
    done = runner.invoke(cli, ["import", str(path), "--dataset", "cli", "--on-error", "skip", "--task-type",
                               "classification"])
    assert done.exit_code == 0, done.output
    assert "imported 1, updated 0, skipped 1" in done.output
    dataset = get_dataset_by_name(session, "cli")
    examples = session.scalars(select(Example).where(Example.dataset_id == dataset.id)).all()
    assert [(e.external_id, e.label) for e in examples] == [("a", "games")]
    assert dataset.task_type == "classification"
