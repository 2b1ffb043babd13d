"""What the health page draws from an analysis, computed once at its end and kept on disk.

- a 2-D PCA projection of the stored input embeddings (the map of the dataset), and
- the token length of every input and output (the length histograms),

in one numpy file under the analysis cache directory, next to the neighbour graph: no migration,
and the page reads ~3 numbers per example instead of embedding or tokenising anything.
"""

import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

from app.checks.base import AnalysisContext
from app.embeddings.tokenizer import count_tokens_cached, token_cache_path

HEALTH_FILE = "health_map.npz"
FORMAT = 1
FIT_SAMPLE = 20_000  # PCA is fitted on this many rows at most, then every row is projected (one matmul)


@dataclass
class HealthArrays:
    ids: np.ndarray             # (n,) example ids
    coordinates: np.ndarray | None  # (n, 2) float32 PCA of the input embeddings; None without vectors
    input_tokens: np.ndarray    # (n,) int32
    output_tokens: np.ndarray   # (n,) int32
    explained: float = 0.0      # share of the variance the two components keep


def project(vectors: np.ndarray) -> tuple[np.ndarray, float]:
    """Two principal components of the vectors: fitted on a fixed random sample (a map does not need more
    precision than that), then applied to every row."""
    if len(vectors) < 3 or vectors.shape[1] < 2:
        return np.zeros((len(vectors), 2), dtype=np.float32), 0.0
    vectors = np.asarray(vectors, dtype=np.float32)
    sample = vectors
    if len(vectors) > FIT_SAMPLE:
        sample = vectors[np.random.default_rng(0).choice(len(vectors), FIT_SAMPLE, replace=False)]
    if not np.any(sample.var(axis=0) > 0):  # every vector the same (or none embedded): nothing to spread out
        return np.zeros((len(vectors), 2), dtype=np.float32), 0.0
    pca = PCA(n_components=2, svd_solver="randomized", random_state=0).fit(sample)
    coordinates = pca.transform(vectors)
    return coordinates.astype(np.float32), float(pca.explained_variance_ratio_.sum())


def save_health_arrays(ctx: AnalysisContext, data_dir: Path) -> Path | None:
    """The analysis's hook: project the vectors, count the tokens, write the file atomically."""
    if ctx.cache_dir is None:
        return None
    cache = token_cache_path(data_dir)
    inputs = count_tokens_cached([e.input for e in ctx.examples], cache)
    outputs = count_tokens_cached([e.output for e in ctx.examples], cache)
    coordinates, explained = (None, 0.0) if ctx.vectors is None else project(ctx.vectors)
    arrays = {"format": np.array(FORMAT), "ids": np.asarray(ctx.ids, dtype=np.int64),
              "input_tokens": np.asarray(inputs, dtype=np.int32), "output_tokens": np.asarray(outputs, dtype=np.int32),
              "explained": np.array(explained)}
    if coordinates is not None:
        arrays["coordinates"] = coordinates
    path = Path(ctx.cache_dir) / HEALTH_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(partial, "wb") as out:
            np.savez(out, **arrays)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def load_health_arrays(cache_dir: Path) -> HealthArrays | None:
    try:
        with np.load(Path(cache_dir) / HEALTH_FILE, allow_pickle=False) as saved:
            if int(saved["format"]) != FORMAT:
                return None
            return HealthArrays(ids=saved["ids"], coordinates=saved["coordinates"] if "coordinates" in saved else None,
                                input_tokens=saved["input_tokens"], output_tokens=saved["output_tokens"],
                                explained=float(saved["explained"]))
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None
