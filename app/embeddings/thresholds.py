"""Per embedding model, the cosine similarity at which two inputs count as near-duplicates.

Models put similarities on different scales: the static model scores every pair of texts higher than
the transformer does (a mean of token vectors shares more with any other mean). Measured on injected
near-copies of Debian descriptions (benchmarks/bench_embedders.py, 3,000 pairs, 60 copies):
- all-MiniLM-L6-v2 at 0.92: copy recall 0.967, precision 0.413;
- minilm-static-256 at 0.98: copy recall 0.983, precision 0.468 (at 0.92 it flags 1.7x as many pairs).
A dataset's own `near_duplicate.threshold` setting overrides these.
"""

from app.embeddings.static import STATIC_NAME

DEFAULT = 0.92
BY_MODEL = {STATIC_NAME: 0.98}


def near_duplicate_threshold(model: str) -> float:
    return BY_MODEL.get(model, DEFAULT)
