"""An export holds no database lock while it computes, and deleting a dataset removes its files."""

import json
import time

from app.config import get_settings
from app.db import get_engine
from app.services import exports as export_service


def _import_pairs(make_dataset, import_jsonl, name: str, n: int = 30) -> int:
    dataset = make_dataset(name)
    body = "\n".join(json.dumps({"prompt": f"{name} question {i}", "completion": f"answer {i % 3}"})
                     for i in range(n))
    assert import_jsonl(dataset["id"], body).status_code in (200, 201)
    return dataset["id"]


def _write_from_another_connection(dataset_id: int) -> float:
    """Seconds another connection takes to write and commit, waiting at most ~1 s for any lock."""
    engine = get_engine()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        start = time.perf_counter()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA busy_timeout=1000")
            cursor.execute("BEGIN IMMEDIATE")
        else:
            cursor.execute("SET lock_timeout = '1s'")
        cursor.execute(f"UPDATE datasets SET description = 'edited during the export' WHERE id = {int(dataset_id)}")
        raw.commit()
        return time.perf_counter() - start
    finally:
        raw.close()


def test_another_connection_writes_while_an_export_computes(client, make_dataset, import_jsonl, monkeypatch):
    dataset_id = _import_pairs(make_dataset, import_jsonl, "locked")
    waited: list[float] = []
    token_section = export_service._token_section

    def slow_token_section(*args, **kwargs):  # runs while the export computes, between its transactions
        waited.append(_write_from_another_connection(dataset_id))
        return token_section(*args, **kwargs)

    monkeypatch.setattr(export_service, "_token_section", slow_token_section)
    response = client.post(f"/api/v1/datasets/{dataset_id}/exports", json={})
    assert response.status_code == 201, response.text
    assert response.json()["manifest"]["counts"]["total"] == 30
    assert len(waited) == 1 and waited[0] < 0.5
    assert client.get(f"/api/v1/datasets/{dataset_id}").json()["description"] == "edited during the export"


def test_deleting_a_dataset_removes_its_export_folders_and_analysis_cache(client, make_dataset, import_jsonl):
    data_dir = get_settings().data_dir
    doomed, kept = (_import_pairs(make_dataset, import_jsonl, name) for name in ("doomed", "kept"))
    folders = {}
    for dataset_id in (doomed, doomed, kept):
        response = client.post(f"/api/v1/datasets/{dataset_id}/exports", json={})
        assert response.status_code == 201, response.text
        folders.setdefault(dataset_id, []).append(data_dir / "exports" / str(response.json()["id"]))
    analysis_cache = {d: data_dir / "analysis" / f"dataset-{d}" for d in (doomed, kept)}
    for folder in analysis_cache.values():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "label_issue.pickle").write_bytes(b"cached")
    assert all((f / "train.jsonl").is_file() for fs in folders.values() for f in fs)

    assert client.delete(f"/api/v1/datasets/{doomed}").status_code == 204
    assert not any(f.exists() for f in folders[doomed]) and not analysis_cache[doomed].exists()
    assert (folders[kept][0] / "train.jsonl").is_file() and analysis_cache[kept].is_dir()
    assert not list((data_dir / "exports").glob(".staging-*"))
