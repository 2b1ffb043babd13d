"""Large JSONL imports validated in pieces by worker processes give exactly what one pass gives.

Pieces are forced tiny here (a few lines each), so every case crosses piece borders: the same
rows, the same errors on the same lines, ids repeated across pieces refused, nothing kept when
an import aborts after earlier pieces were written, and a broken worker pool falls back.
"""

import io
import json
import os
import signal

import pytest
from sqlalchemy import func, select

from app.importers import open_source
from app.models import Dataset, Example, Revision
from app.schemas.dataset import DatasetCreate
from app import workers as import_workers
from app.services.datasets import create_dataset
from app.services.import_validation import Parallelism
from app.services.imports import OnError, run_import
from tests.conftest import IS_POSTGRES

IN_PIECES = Parallelism(workers=2, min_bytes=0, piece_bytes=64)
ONE_PASS = Parallelism(workers=1)


def lines(*records) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r, ensure_ascii=False).encode()) + b"\n"
                    for r in records)


def import_both_ways(session, data: bytes, *, task_type="generation", on_error=OnError.skip, format="auto"):
    """The outcome and the stored rows of the same file imported in one pass and in pieces."""
    results = []
    for name, parallelism in (("one-pass", ONE_PASS), ("pieces", IN_PIECES)):
        dataset = create_dataset(session, DatasetCreate(name=name, task_type=task_type))
        session.commit()
        source = open_source(io.BytesIO(data), filename="pairs.jsonl", format=format)
        outcome = run_import(session, dataset.id, source, on_error=on_error, parallelism=parallelism, batch_size=3)
        session.commit()
        rows = session.execute(select(Example.external_id, Example.system, Example.input, Example.output,
                                      Example.label, Example.history, Example.meta, Example.weight,
                                      Example.input_hash, Example.content_hash)
                               .where(Example.dataset_id == dataset.id).order_by(Example.id)).all()
        results.append((outcome, [tuple(r) for r in rows]))
    return results


MIXED = lines(
    b'\xef\xbb\xbf{"id": "a", "prompt": "first \\u00e9", "completion": "x"}',
    {"id": "b", "prompt": "second", "completion": "y", "label": "y", "metadata": {"k": [1, 2]}},
    b"",
    b'{"id": "c", "prompt": "crlf", "completion": "z"}\r',
    b"{not json",
    {"id": "d", "prompt": 5, "completion": "bad type"},
    {"id": "a", "prompt": "repeats an id of an earlier piece", "completion": "x"},
    {"id": "e", "prompt": "weighted", "completion": "w", "weight": 0, "system": "be brief"},
    b'{"id": "f", "prompt": "invalid utf-8 \xff", "completion": "x"}',
    {"prompt": "no id", "completion": "q", "extra": "kept in metadata"},
    {"id": "g", "prompt": "nul \u0000 byte", "completion": "x"},
    {"id": "b", "prompt": "repeats b", "completion": "y"},
    *[{"id": f"n{i}", "prompt": f"pair {i} " + "word " * (i % 7), "completion": f"c{i % 3}"} for i in range(40)],
)


def test_pieces_give_the_same_rows_and_errors_as_one_pass(session):
    (one, one_rows), (pieces, piece_rows) = import_both_ways(session, MIXED)
    assert len(MIXED) > 20 * IN_PIECES.piece_bytes  # many pieces
    assert piece_rows == one_rows
    assert (pieces.imported, pieces.updated, pieces.skipped, pieces.format) == \
        (one.imported, one.updated, one.skipped, one.format) == (46, 0, 5, "prompt_completion")
    assert pieces.errors == one.errors
    assert [(e.line, e.field) for e in one.errors] == [(5, None), (6, "prompt"), (7, "id"), (9, None), (12, "id")]
    assert one.errors[2].message == "duplicate id 'a' (first on line 1)"


def test_pieces_of_a_classification_file_align_labels_like_one_pass(session):
    data = lines(*[{"prompt": f"p{i}", "completion": f" class{i % 4} " if i % 5 else "", "label": "fallback"}
                   for i in range(30)])
    (one, one_rows), (pieces, piece_rows) = import_both_ways(session, data, task_type="classification")
    assert piece_rows == one_rows and pieces.imported == one.imported == 30
    assert {row[4] for row in one_rows} == {"class0", "class1", "class2", "class3", "fallback"}


def test_lines_before_the_one_that_decides_the_format_get_the_same_errors(session):
    data = lines({"unknown": 1}, b"[1, 2]", *[{"instruction": f"do {i}", "output": f"done {i}"} for i in range(20)])
    (one, one_rows), (pieces, piece_rows) = import_both_ways(session, data)
    assert pieces.format == one.format == "alpaca"
    assert pieces.errors == one.errors and [e.line for e in one.errors] == [1, 2]
    assert piece_rows == one_rows and len(one_rows) == 20


def test_a_file_whose_first_piece_decides_no_format_is_validated_in_one_pass(session):
    data = lines(*[{"unknown": i} for i in range(10)], *[{"input": f"i{i}", "output": "o"} for i in range(10)])
    (one, one_rows), (pieces, piece_rows) = import_both_ways(session, data)
    assert (pieces.errors, piece_rows, pieces.format) == (one.errors, one_rows, "input_output")


def test_an_error_in_the_last_piece_aborts_after_earlier_pieces_were_written(session):
    dataset = create_dataset(session, DatasetCreate(name="abort"))
    session.commit()
    before = session.get(Dataset, dataset.id).updated_at
    good = [{"id": f"r{i}", "prompt": f"p{i}", "completion": "c"} for i in range(40)]
    source = open_source(io.BytesIO(lines(*good, {"id": "last", "prompt": "p"})), filename="x.jsonl")
    outcome = run_import(session, dataset.id, source, parallelism=IN_PIECES, batch_size=3)
    assert outcome.aborted and (outcome.imported, outcome.skipped) == (0, 1)
    assert [(e.line, e.field) for e in outcome.errors] == [(41, "completion")]
    session.commit()  # what a request's session does after a 422: nothing of the import may be in it
    assert session.scalar(select(func.count()).select_from(Example)) == 0
    assert session.get(Dataset, dataset.id).updated_at == before


def test_a_re_import_in_pieces_updates_with_revisions(session):
    records = [{"id": f"r{i}", "prompt": f"p{i}", "completion": "old"} for i in range(30)]
    dataset = create_dataset(session, DatasetCreate(name="again"))
    session.commit()
    run_import(session, dataset.id, open_source(io.BytesIO(lines(*records)), filename="x.jsonl"),
               parallelism=IN_PIECES)
    session.commit()
    records[7]["completion"] = "new"
    records.append({"id": "r30", "prompt": "p30", "completion": "old"})
    outcome = run_import(session, dataset.id, open_source(io.BytesIO(lines(*records)), filename="x.jsonl"),
                         parallelism=IN_PIECES, batch_size=4)
    session.commit()
    assert (outcome.imported, outcome.updated) == (1, 30)
    changed = session.scalars(select(Example).where(Example.external_id == "r7")).one()
    assert (changed.output, changed.version) == ("new", 2)
    assert [r.field for r in session.scalars(select(Revision).where(Revision.example_id == changed.id))] == ["output"]
    assert session.scalar(select(func.count()).select_from(Example)) == 31


def test_a_broken_worker_pool_falls_back_to_validating_here(session):
    import_workers.start_workers(2)
    pool = import_workers.worker_pool(2)
    for process in list(pool._processes.values()):  # what an out-of-memory kill does to a worker
        os.kill(process.pid, signal.SIGKILL)
    (one, one_rows), (pieces, piece_rows) = import_both_ways(session, MIXED)
    assert (pieces.errors, piece_rows) == (one.errors, one_rows)
    assert import_workers.worker_pool(2) is not pool  # a new pool for the next import
    import_workers.start_workers(2)


@pytest.mark.parametrize("size, expected", [(0, 256 << 10), (24 << 20, 3 << 19), (10 << 30, 4 << 20)])
def test_piece_size_gives_each_worker_about_eight_pieces_within_bounds(size, expected):
    assert abs(Parallelism(workers=2).piece_size(size) - expected) <= 1


def test_workers_leave_when_their_server_is_killed(tmp_path):
    """SIGKILL of the server alone (an out-of-memory kill) must not leave its import workers behind."""
    import subprocess
    import sys
    import time

    script = tmp_path / "server.py"
    script.write_text(
        "import os, signal, sys\n"
        "from app import workers as import_workers\n"
        "if __name__ == '__main__':\n"
        "    import_workers.start_workers(2)\n"
        "    print(' '.join(str(p) for p in import_workers.worker_pool(2)._processes), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          cwd=os.getcwd(), env={**os.environ, "PYTHONPATH": os.getcwd()})
    workers = [int(pid) for pid in done.stdout.split()]
    assert len(workers) == 2, done.stderr

    def alive(pid: int) -> bool:
        """Running; a zombie (exited, waiting for an init that may never reap it) counts as gone."""
        try:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        return state != "Z"

    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers)


def test_a_large_file_into_a_missing_dataset_is_a_404_with_nothing_left_behind(session, tmp_path, monkeypatch):
    from app.errors import NotFound

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    data = lines(*[{"prompt": f"p{i}", "completion": "c"} for i in range(200)])
    source = open_source(io.BytesIO(data), filename="x.jsonl")
    with pytest.raises(NotFound):
        run_import(session, 12345, source, parallelism=IN_PIECES)
    assert list(tmp_path.iterdir()) == []  # the pieces' spool files went with their folder


@pytest.mark.parametrize("data", [b"", b"\n\n", b'{"prompt": "only", "completion": "line"}'])
def test_tiny_files_give_the_same_answer_in_pieces(session, data):
    (one, one_rows), (pieces, piece_rows) = import_both_ways(session, data)
    assert (pieces.imported, pieces.skipped, pieces.errors, piece_rows) == \
        (one.imported, one.skipped, one.errors, one_rows)


@pytest.mark.skipif(IS_POSTGRES, reason="SQLite's WAL recovery")
def test_an_aborted_import_then_a_good_one_survive_an_unclean_exit(tmp_path):
    """Found by hand: an import aborted after pieces were written, undone with ROLLBACK TO a savepoint,
    then a good import, then a server that exits without closing its connections: SQLite 3.40
    recovered a WAL without the good import (or a malformed file). The abort rolls back the whole
    transaction now. The rows must spill out of SQLite's page cache into the WAL, hence ~12 MB."""
    import subprocess
    import sys

    big = lines(*[{"id": f"r{i}", "prompt": f"pair {i} " + "long text " * 40, "completion": f"c{i % 5}"}
                  for i in range(25_000)])
    (tmp_path / "good.jsonl").write_bytes(big)
    (tmp_path / "bad.jsonl").write_bytes(big + lines({"id": "last", "prompt": 1}))
    script = tmp_path / "server.py"
    script.write_text(
        "import io, os, sys\n"
        "from app.migrate import upgrade\n"
        "from app.db import session_scope\n"
        "from app.importers import open_source\n"
        "from app.schemas.dataset import DatasetCreate\n"
        "from app.services.datasets import create_dataset\n"
        "from app.services.import_validation import Parallelism\n"
        "from app.services.imports import OnError, run_import\n"
        "if __name__ == '__main__':\n"
        "    url, folder = sys.argv[1], sys.argv[2]\n"
        "    upgrade(url)\n"
        "    pieces = Parallelism(workers=2, min_bytes=0, piece_bytes=256 << 10)\n"
        "    with session_scope() as session:\n"
        "        dataset_id = create_dataset(session, DatasetCreate(name='d')).id\n"
        "    for name, on_error in (('bad', OnError.abort), ('good', OnError.skip)):\n"
        "        with session_scope() as session, open(f'{folder}/{name}.jsonl', 'rb') as file:\n"
        "            outcome = run_import(session, dataset_id, open_source(file, filename='x.jsonl'),\n"
        "                                 on_error=on_error, parallelism=pieces)\n"
        "            print(name, outcome.imported, outcome.aborted, flush=True)\n"
        "    os._exit(0)  # as a killed server: no connection closed, the WAL left for recovery\n")
    database = tmp_path / "unclean.db"
    url = f"sqlite:///{database}"
    done = subprocess.run([sys.executable, str(script), url, str(tmp_path)], capture_output=True, text=True,
                          timeout=300, cwd=os.getcwd(), env={**os.environ, "DATABASE_URL": url,
                                                             "PYTHONPATH": os.getcwd()})
    assert done.stdout.split() == ["bad", "0", "True", "good", "25000", "False"], done.stderr
    import sqlite3

    connection = sqlite3.connect(database)  # recovers the WAL
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT count(*) FROM examples").fetchone() == (25_000,)
    finally:
        connection.close()
