"""Preference files validated in pieces by the import workers give what one pass gives (options included)."""

import io
import json

from sqlalchemy import select

from app.importers import open_source
from app.models import Example
from app.schemas.dataset import DatasetCreate
from app.services.datasets import create_dataset
from app.services.import_validation import Parallelism
from app.services.imports import OnError, run_import

IN_PIECES = Parallelism(workers=2, min_bytes=0, piece_bytes=64)
ONE_PASS = Parallelism(workers=1)


def test_rated_with_a_margin_and_kto_in_pieces_match_one_pass(session):
    records = [{"id": f"r{i}", "prompt": f"q{i}", "completions": ["a", "b", "c"], "scores": [1, 5, 9]}
               for i in range(12)]
    records.insert(5, {"id": "bad", "prompt": "q", "completions": ["a"], "scores": [1]})
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    results = []
    for name, parallelism in (("one-pass", ONE_PASS), ("pieces", IN_PIECES)):
        dataset = create_dataset(session, DatasetCreate(name=name, task_type="preference"))
        session.commit()
        source = open_source(io.BytesIO(data), filename="pairs.jsonl", options={"rated_margin": 4})
        outcome = run_import(session, dataset.id, source, on_error=OnError.skip, parallelism=parallelism, batch_size=3)
        session.commit()
        rows = session.execute(select(Example.external_id, Example.input, Example.output, Example.rejected,
                                      Example.kto_label, Example.content_hash)
                               .where(Example.dataset_id == dataset.id).order_by(Example.id)).all()
        results.append((outcome.imported, [(e.line, e.field) for e in outcome.errors], [tuple(r) for r in rows]))
    assert results[0] == results[1]
    imported, errors, rows = results[0]
    assert imported == 36 and errors == [(6, "completions")]
    assert rows[0][:5] == ("r0#1>0", "q0", "b", "a", None)
