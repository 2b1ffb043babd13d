"""Helpers for export tests: datasets, examples, findings and embeddings written straight into the tables."""

import numpy as np
import pytest

from app.models import Embedding, Example, Finding, Job
from app.schemas.dataset import DatasetCreate
from app.services.datasets import create_dataset
from app.services.examples import hashes


@pytest.fixture
def dataset_with(session):
    """dataset_with(rows, task_type=...) -> (dataset, [example ids]); rows are dicts of Example fields."""

    def make(rows: list[dict], name: str = "export-ds", **fields):
        dataset = create_dataset(session, DatasetCreate(name=name, **fields))
        ids = []
        for row in rows:
            values = {"status": "pending", **row}
            example = Example(dataset_id=dataset.id, **values,
                              **hashes(values.get("system"), values["input"], values["output"]))
            session.add(example)
            session.flush()
            ids.append(example.id)
        return dataset, ids

    return make


@pytest.fixture
def add_duplicate_findings(session):
    """Mark `members` as duplicates of `representative`, as the analysis engine does."""

    def add(dataset_id: int, representative: int, members: list[int], check: str = "exact_duplicate",
            status: str = "open") -> None:
        for member in members:
            session.add(Finding(dataset_id=dataset_id, example_id=member, check=check, score=1.0, status=status,
                                details={"cluster_id": f"{check.split('_')[0]}:{representative}",
                                         "duplicate_of": representative,
                                         "members": [representative, *members], "similarity": 1.0}))
        session.flush()

    return add


@pytest.fixture
def add_finding(session):
    def add(dataset_id: int, example_id: int, check: str, status: str = "open") -> None:
        session.add(Finding(dataset_id=dataset_id, example_id=example_id, check=check, score=0.9, status=status,
                            details={"message": "planted"}))
        session.flush()

    return add


@pytest.fixture
def add_embeddings(session):
    def add(example_ids: list[int], vectors: np.ndarray, model: str = "hashing") -> None:
        for example_id, vector in zip(example_ids, np.asarray(vectors, dtype=np.float32)):
            session.add(Embedding(example_id=example_id, model=model, text_hash="x", dim=len(vector),
                                  vector=vector.tobytes()))
        session.flush()

    return add


@pytest.fixture
def add_analysis_job(session):
    def add(dataset_id: int, status: str = "succeeded") -> int:
        from app.models import utcnow

        job = Job(kind="analyze", dataset_id=dataset_id, status=status, finished_at=utcnow())
        session.add(job)
        session.flush()
        return job.id

    return add
