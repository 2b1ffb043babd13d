"""Embedding on a Ray cluster: Ray Data `map_batches` over actors that each load the embedder once.

Used by `embeddings_store.embed_missing` when `RAY_ADDRESS` is set or `WINNOW_EMBED_BACKEND=ray`.
The driver (the analysis job) sends (row, text) pairs; actors return (row, vector); the driver
writes the vectors into the same store as the local path, chunk by chunk as results arrive, so
the checks never know where the vectors were computed.

The embedder object itself is shipped to the actors (pickled once into Ray's object store): the
static model travels with its token vectors, so every worker computes exactly the driver's
vectors and none distils its own; the transformer travels as its settings and each actor loads
the packaged model on its own device (one GPU per actor when the cluster has GPUs).
Winnow's own code reaches the workers through `runtime_env.py_modules`; its dependencies must be
installed on the cluster's nodes (`pip install 'winnow[ray]'`, or the same image).
"""

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from app.embeddings.base import Embedder

_init_lock = threading.Lock()


def runtime_env() -> dict:
    """Ships this checkout's `app` package to the workers, so that they unpickle the same classes."""
    import app

    return {"py_modules": [str(Path(app.__file__).parent)]}


def connect(address: str = "") -> None:
    """Join the cluster at `address` (empty: start a local Ray on this machine's cores), once per process."""
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError("RAY_ADDRESS / WINNOW_EMBED_BACKEND=ray needs Ray: pip install -e '.[ray]'") from exc

    with _init_lock:
        if not ray.is_initialized():
            local = {} if address else {"include_dashboard": False}
            ray.init(address=address or None, log_to_driver=False, runtime_env=runtime_env(), **local)


class EmbedActor:
    """One per worker slot: holds the embedder (loaded on the first batch) and encodes batches."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.encode([str(text) for text in batch["text"]])
        return {"row": batch["row"], "vector": np.asarray(vectors, dtype=np.float32)}


def wants_gpu(embedder: Embedder) -> bool:
    return getattr(embedder, "device_setting", "cpu") != "cpu"


def encode_rows(embedder: Embedder, texts: Sequence[str], batch_size: int,
                address: str = "") -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row numbers into `texts`, their vectors) chunk by chunk, in the order the cluster finishes them."""
    import pyarrow as pa
    import ray

    connect(address)
    ray.data.DataContext.get_current().enable_progress_bars = False  # the job's own progress says where it is
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
    if gpus and wants_gpu(embedder):
        placement = {"num_gpus": 1, "concurrency": (1, gpus)}
    else:
        placement = {"num_cpus": 1, "concurrency": (1, cpus)}
    batches = max(1, -(-len(texts) // batch_size))
    low, high = placement["concurrency"]
    placement["concurrency"] = (low, max(low, min(high, batches)))
    table = pa.table({"row": np.arange(len(texts), dtype=np.int64), "text": pa.array(list(texts), pa.large_string())})
    dataset = ray.data.from_arrow(table).repartition(batches).map_batches(
        EmbedActor, fn_constructor_args=(embedder,), batch_size=batch_size, batch_format="numpy", **placement)
    for out in dataset.iter_batches(batch_size=batch_size, batch_format="numpy"):
        yield np.asarray(out["row"], dtype=np.int64), np.asarray(out["vector"], dtype=np.float32)
