"""Job messages name the stage, n of N and the time left; an analysis job reports each stage by name."""

import numpy as np

from app.services.analysis import StageProgress
from tests.analysis.helpers import analyse, jsonl


def test_messages_name_the_stage_the_count_and_the_time_left(monkeypatch):
    clock = iter([100.0, 110.0, 110.5, 130.0])
    monkeypatch.setattr("app.services.analysis.time.monotonic", lambda: next(clock))
    seen = []
    progress = StageProgress(lambda done, total, message: seen.append((done, total, message)))
    progress("embedding", 0, 1000, "texts", 0, 1007)
    progress("embedding", 250, 1000, "texts", 250, 1007)   # 25 texts/s so far: 30 s left
    progress("embedding", 300, 1000, "texts", 300, 1007)   # half a second later: not written
    progress("embedding", 1000, 1000, "texts", 1000, 1007)  # the end of a stage is always written
    assert seen[0] == (0, 1007, "embedding: 0 of 1,000 texts")
    assert seen[1] == (250, 1007, "embedding: 250 of 1,000 texts, 25/s, about 00:30 left")
    assert len(seen) == 3 and seen[2][2] == "embedding: 1,000 of 1,000 texts, done in 00:30"


def test_an_analysis_reports_its_stages(client, make_dataset, import_jsonl, monkeypatch):
    messages = []
    original = StageProgress.message

    def spy(stage, done, total, unit, elapsed):
        text = original(stage, done, total, unit, elapsed)
        messages.append(text)
        return text

    monkeypatch.setattr(StageProgress, "message", staticmethod(spy))
    monkeypatch.setattr("app.embeddings.index.EXACT_MAX_ROWS", 10)  # the HNSW path, on 60 pairs
    rng = np.random.default_rng(0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    pairs = [{"prompt": " ".join(rng.choice(words, 6)), "completion": ["a", "b"][i % 2]} for i in range(60)]
    dataset = make_dataset("progress", task_type="classification")
    assert import_jsonl(dataset["id"], jsonl(pairs)).status_code == 200
    job = analyse(client, dataset["id"])
    stages = {m.split(":")[0] for m in messages}
    assert {"embedding", "index", "neighbour search", "label_issue"} <= stages
    assert "neighbours" in job["result"]["seconds"]
    again = analyse(client, dataset["id"])
    assert again["result"]["notes"].get("neighbours_updated") is True  # nothing changed: the saved graph is kept
