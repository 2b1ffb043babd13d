"""End to end with the REAL static model (distilled from the packaged MiniLM, as `make install` does) on
the same Debian sample as test_analysis_real_model.py: the default embedder finds the injected faults."""

import sys
from pathlib import Path

import pytest

from tests.analysis.helpers import analyse, jsonl
from tests.e2e.test_analysis_real_model import SECTIONS, flagged

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.debian_faults import inject_faults, load_pairs, precision_recall  # noqa: E402

pytestmark = pytest.mark.slow
# `make install` distils into the default data directory's models folder; the tests' data directory is a
# temporary one, so they read the installed model from there (distilling it first if it is missing).
INSTALLED_MODELS = Path(__file__).resolve().parents[2] / "data" / "models"


def test_static_model_finds_injected_faults(client, make_dataset, import_jsonl, monkeypatch):
    import app.embeddings as embeddings
    from app.config import get_settings

    monkeypatch.setattr(get_settings(), "embedding_model", embeddings.STATIC)
    monkeypatch.setattr(get_settings(), "models_dir", INSTALLED_MODELS)
    monkeypatch.setattr(embeddings, "_embedders", {})
    pairs, faults = inject_faults(load_pairs(300, seed=7, sections=SECTIONS), flip=0.05, copies=0.04,
                                  broken=0.02, seed=3)
    ds = make_dataset("debian-static", task_type="classification")
    assert import_jsonl(ds["id"], jsonl(pairs)).json()["imported"] == len(pairs)
    job = analyse(client, ds["id"], timeout=900)
    assert job["result"]["embedding_model"] == "minilm-static-256" and job["result"]["embedded"] == len(pairs)
    examples = client.get(f"/api/v1/datasets/{ds['id']}/examples", params={"limit": 1000}).json()["items"]
    by_id = {e["id"]: e["external_id"] for e in examples}

    label_precision, label_recall = precision_recall(flagged(client, ds["id"], "label_issue", by_id), faults.flipped)
    near = flagged(client, ds["id"], "near_duplicate", by_id)
    duplicates = near | flagged(client, ds["id"], "exact_duplicate", by_id)
    copy_recall = sum(c in duplicates or o in duplicates for c, o in faults.edited_copies.items()) / len(
        faults.edited_copies)
    involved = set(faults.edited_copies) | set(faults.edited_copies.values())
    print(f"static: label_issue P={label_precision:.2f} R={label_recall:.2f}; copies R={copy_recall:.2f}; "
          f"near_duplicate flagged {len(near)}, of which injected copies or their sources {len(near & involved)}")
    assert copy_recall >= COPY_RECALL_FLOOR
    assert len(near - involved) <= OTHER_NEAR_CEILING
    assert label_recall >= LABEL_RECALL_FLOOR and label_precision >= LABEL_PRECISION_FLOOR


# Measured on this sample (seed 7, faults seed 3; 15 flips, 12 copies): label_issue P=0.54 R=0.87 (lbfgs, as
# `model: auto` picks on a few hundred pairs; SGD gave P=0.34 R=0.87 here; the transformer: P=0.54 R=0.87), edited copies R=1.00, 1 near_duplicate finding beyond the injected copies.
COPY_RECALL_FLOOR = 0.9
OTHER_NEAR_CEILING = 5
LABEL_RECALL_FLOOR = 0.6
LABEL_PRECISION_FLOOR = 0.4
