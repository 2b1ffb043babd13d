"""label_issue: labels that are probably wrong, by confident learning (cleanlab).

Out-of-sample class probabilities come from K-fold cross-validated logistic regression (scikit-learn
`StratifiedKFold`, `LogisticRegression`) on input features: the input embedding next to TF-IDF of
hashed word 1-2-grams (`HashingVectorizer` + `TfidfTransformer`: no vocabulary to build or hold), or
the embedding alone (`features`).
`cleanlab.filter.find_label_issues` picks the likely errors and `cleanlab.rank.get_label_quality_scores`
scores them (score = 1 - quality). Classes with fewer than K examples cannot be cross-validated: they
are left out and named in the job result.

Scale: above `sparse_max_rows` pairs the TF-IDF part is randomly projected to a few hundred dense
columns (the solver then runs in BLAS), and each fold's model learns from at most `max_train_rows` of
its training rows (a random sample that keeps every row of a class under `SMALL_CLASS`); features are
built batch by batch. So a million pairs cost minutes and bounded memory; benchmarks/README.md has
the figures and the quality of each path.

Re-analysis: the probabilities and the K fold models are kept in the dataset's cache folder.
When few pairs changed (at most `reuse_max_changed` of them) and the classes are the same, the
unchanged pairs keep their probabilities and each changed or new pair is predicted by the model
of the fold that held it out, so it stays out-of-sample; otherwise everything is recomputed.
"""

import pickle
import warnings
from collections import Counter
from pathlib import Path

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from app.checks.base import AnalysisContext, CheckSettings, FindingDraft, clip01
from app.task_types import SFT_TASK_TYPES
from app.text import sha256_hex

CACHE_VERSION = 2
HASHED_FEATURES = 2**16  # about the vocabulary size the TF-IDF used to keep (50,000)
FEATURE_BATCH = 50_000
FIT_ROWS = 100_000  # rows the IDF and projection are fitted on
REDUCED_DIMS = 256
SMALL_CLASS = 200  # classes with fewer training rows than this are never sampled down
MAX_ITER = 300  # today's solver budget, on the sparse features
DENSE_MAX_ITER = 100  # on the dense ones lbfgs settles well within this


class TextFeatures:
    """The classifier's input: the embedding, next to TF-IDF of hashed word 1-2-grams (sparse), or, above
    `sparse_max_rows`, next to a random projection of that TF-IDF to `REDUCED_DIMS` dense columns (dense
    features keep the solver in BLAS, and a million rows of them fit in memory; README has the quality)."""

    def __init__(self, with_tfidf: bool = True, reduced: bool = False) -> None:
        self.with_tfidf = with_tfidf
        self.reduced = reduced
        self.tfidf = None
        self.projection = None

    @staticmethod
    def _counts(texts: list[str]):
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(ngram_range=(1, 2), n_features=HASHED_FEATURES, alternate_sign=False, norm=None,
                                 dtype=np.float32).transform(texts)

    def fit(self, texts: list[str], seed: int = 0) -> "TextFeatures":
        """IDF (and the projection) from at most FIT_ROWS of the texts: more would not change them."""
        from sklearn.feature_extraction.text import TfidfTransformer

        if not self.with_tfidf or not texts:
            return self
        if len(texts) > FIT_ROWS:
            picked = np.random.default_rng(seed).choice(len(texts), FIT_ROWS, replace=False)
            texts = [texts[i] for i in np.sort(picked)]
        self.tfidf = TfidfTransformer(sublinear_tf=True).fit(self._counts(texts))
        if self.reduced:
            from sklearn.random_projection import SparseRandomProjection

            # Fitted on one float32 row: the projection depends only on the width, and keeps float32.
            self.projection = SparseRandomProjection(n_components=REDUCED_DIMS, dense_output=True, random_state=seed)
            self.projection.fit(np.zeros((1, HASHED_FEATURES), dtype=np.float32))
        return self

    def text_part(self, texts: list[str], progress=None):
        """The TF-IDF part for texts, batch by batch (sparse, or dense float32 when reduced); None without."""
        if self.tfidf is None:
            return None
        from scipy.sparse import vstack

        parts = []
        for start in range(0, len(texts), FEATURE_BATCH):
            part = self.tfidf.transform(self._counts(texts[start:start + FEATURE_BATCH])).astype(np.float32)
            parts.append(self.projection.transform(part).astype(np.float32) if self.projection is not None
                         else part)
            if progress:
                progress(min(start + FEATURE_BATCH, len(texts)), len(texts))
        if not parts:
            return None
        return np.vstack(parts) if self.projection is not None else vstack(parts, format="csr")

    @staticmethod
    def join(vectors: np.ndarray, text_part):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if text_part is None:
            return vectors
        if isinstance(text_part, np.ndarray):
            return np.hstack([vectors, text_part])
        from scipy.sparse import csr_matrix, hstack

        return hstack([csr_matrix(vectors), text_part], format="csr")

    def of_texts(self, texts: list[str], vectors: np.ndarray):
        return self.join(vectors, self.text_part(texts))


def training_sample(rows: np.ndarray, labels: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """At most about max_rows of rows, at random, keeping every row of a class with under SMALL_CLASS."""
    if len(rows) <= max_rows:
        return rows
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels[rows])
    keep = (rng.random(len(rows)) < max_rows / len(rows)) | (counts[labels[rows]] < SMALL_CLASS)
    return rows[keep]


def new_model(c: float, dense: bool):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=DENSE_MAX_ITER if dense else MAX_ITER)


def predict(model, features, n_classes: int) -> np.ndarray:
    """Class probabilities over all n_classes (a fold whose sample missed a class gives it 0)."""
    probabilities = np.zeros((features.shape[0], n_classes))
    probabilities[:, model.classes_] = model.predict_proba(features)
    return probabilities


def cross_validated(text_part, vectors: np.ndarray, labels: np.ndarray, folds: int, c: float, max_train_rows: int,
                    seed: int = 0, progress=None, vector_rows: np.ndarray | None = None):
    """(out-of-sample probabilities, fold models, fold index of each row). Row i's embedding is
    vectors[vector_rows[i]] (all of `vectors` in order without vector_rows: no copy of them is made)."""
    from scipy.sparse import csr_matrix
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    n, n_classes = len(labels), int(labels.max()) + 1
    probabilities = np.zeros((n, n_classes))
    fold_of = np.zeros(n, dtype=np.int64)
    models = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)

    def features(rows):
        embedding = vectors[vector_rows[rows] if vector_rows is not None else rows]
        return TextFeatures.join(embedding, text_part[rows] if text_part is not None else None)

    for fold, (train, test) in enumerate(splitter.split(np.zeros(n), labels)):
        if progress:
            progress(fold, folds)
        sample = training_sample(train, labels, max_train_rows, seed + fold)
        with warnings.catch_warnings():  # a bounded number of iterations is the point: no "did not converge" noise
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = new_model(c, not isinstance(text_part, csr_matrix)).fit(features(sample), labels[sample])
        for start in range(0, len(test), FEATURE_BATCH):
            part = test[start:start + FEATURE_BATCH]
            probabilities[part] = predict(model, features(part), n_classes)
        fold_of[test] = fold
        models.append(model)
    if progress:
        progress(folds, folds)
    return probabilities, models, fold_of


def fingerprints(texts: list[str], labels: list[str]) -> np.ndarray:
    return np.array([sha256_hex(t, label) for t, label in zip(texts, labels, strict=True)], dtype="S64")


class LabelIssueSettings(CheckSettings):
    folds: Annotated[int, Field(ge=2, le=50, description="cross-validation folds (K)")] = 5
    features: Literal["embedding+tfidf", "embedding"] = "embedding+tfidf"
    C: Annotated[float, Field(gt=0, le=1_000_000, description="inverse regularisation of the classifier")] = 4.0
    reuse_max_changed: Annotated[float, Field(ge=0, le=1, description="share of changed pairs that still reuses "
                                                                     "the last run's models")] = 0.05
    sparse_max_rows: Annotated[int, Field(ge=0, le=100_000_000, description="above this many pairs the TF-IDF "
                                          "part is projected to dense columns")] = 20_000
    max_train_rows: Annotated[int, Field(ge=100, le=100_000_000, description="training pairs per fold at most "
                                         "(a random sample above it)")] = 50_000


class LabelIssueCheck:
    name = "label_issue"
    description = ("Pairs whose label is probably wrong: cleanlab on out-of-sample probabilities of K-fold "
                   "cross-validated logistic regression over the input (embedding + TF-IDF of hashed word "
                   "n-grams).")
    # Preference datasets have their own answer checks (identical_sides, contradicting_preference).
    task_types = SFT_TASK_TYPES
    needs_embeddings = True
    dataset_level = False
    forms_clusters = False
    blocks_readiness = False
    excluded_from_export = True
    settings_model = LabelIssueSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        settings: LabelIssueSettings = ctx.settings_of(self)
        folds = settings.folds
        rows = [i for i, e in enumerate(ctx.examples) if e.label is not None and e.label.strip()
                and e.status != "rejected"]
        counts = Counter(ctx.examples[i].label for i in rows)
        ctx.notes["label_issue_skipped_classes"] = sorted(label for label, n in counts.items() if n < folds)
        rows = [i for i in rows if counts[ctx.examples[i].label] >= folds]
        classes = sorted({ctx.examples[i].label for i in rows})
        if len(classes) < 2 or ctx.vectors is None:
            ctx.notes["label_issue_skipped"] = "fewer than two classes with enough examples to cross-validate"
            return []
        class_index = {label: k for k, label in enumerate(classes)}
        labels = np.array([class_index[ctx.examples[i].label] for i in rows])
        probabilities = self._probabilities(ctx, rows, classes, labels, settings)
        # n_jobs=1: cleanlab's pool relies on fork-inherited globals and breaks under spawned uvicorn workers.
        issues = find_label_issues(labels, probabilities, filter_by="prune_by_noise_rate", n_jobs=1)
        quality = get_label_quality_scores(labels, probabilities)
        suggested_index = np.argmax(probabilities, axis=1)
        drafts = []
        for position in np.flatnonzero(issues & (suggested_index != labels)):
            example = ctx.examples[rows[position]]
            suggested = classes[int(suggested_index[position])]
            top = np.argsort(-probabilities[position])[:3]
            drafts.append(FindingDraft(example.id, self.name, clip01(1.0 - quality[position]), {
                "given_label": example.label, "suggested_label": suggested,
                "top_labels": [[classes[int(k)], round(float(probabilities[position][k]), 3)] for k in top],
                "label_quality": round(float(quality[position]), 4),
                "message": f"The label '{example.label}' looks wrong for this input; '{suggested}' fits it better "
                           f"(label quality {quality[position]:.2f} of 1).",
            }))
        return drafts

    def _probabilities(self, ctx, rows, classes, labels, settings) -> np.ndarray:
        texts = [ctx.examples[i].input for i in rows]
        prints = fingerprints(texts, [ctx.examples[i].label for i in rows])
        key = {"version": CACHE_VERSION, "model": ctx.embedding_model, "classes": classes,
               **settings.model_dump(include={"folds", "features", "C", "sparse_max_rows", "max_train_rows"})}
        reused = self._reuse(ctx, rows, texts, prints, key, settings)
        if reused is not None:
            return reused
        featurizer = TextFeatures(with_tfidf=settings.features != "embedding",
                                  reduced=len(rows) > settings.sparse_max_rows).fit(texts)

        def hashed(done: int, total: int) -> None:
            if ctx.progress:
                ctx.progress("label_issue: word n-grams", done, total, "texts")

        def folded(done: int, total: int) -> None:
            if ctx.progress:
                ctx.progress("label_issue: cross-validation", done, total, "folds")

        text_part = featurizer.text_part(texts, hashed)
        probabilities, models, fold_of = cross_validated(
            text_part, ctx.vectors, labels, settings.folds, settings.C, settings.max_train_rows, progress=folded,
            vector_rows=np.asarray(rows))
        del text_part
        order = np.argsort(prints, kind="stable")
        self._save(ctx.cache_dir, {
            "key": key, "fingerprints": prints[order], "probabilities": probabilities[order].astype(np.float32),
            "featurizer": featurizer, "models": models,
            "ids": ctx.ids[rows], "folds": fold_of,
        })
        return probabilities

    def _reuse(self, ctx, rows, texts, prints, key, settings) -> np.ndarray | None:
        cache = self._load(ctx.cache_dir)
        if cache is None or cache["key"] != key:
            return None
        known = cache["fingerprints"]
        at = np.clip(np.searchsorted(known, prints), 0, max(len(known) - 1, 0))
        hit = (known[at] == prints) if len(known) else np.zeros(len(prints), dtype=bool)
        changed = np.flatnonzero(~hit)
        if len(changed) > settings.reuse_max_changed * len(rows):
            return None
        ctx.notes["label_issue_reused"] = int(hit.sum())
        probabilities = np.zeros((len(rows), len(key["classes"])))
        probabilities[hit] = cache["probabilities"][at[hit]]
        if len(changed):
            # Each changed pair is predicted by the fold model that held out its previous version.
            ids = ctx.ids[[rows[n] for n in changed]]
            order = np.argsort(cache["ids"])
            place = np.clip(np.searchsorted(cache["ids"], ids, sorter=order), 0, len(order) - 1)
            known_id = cache["ids"][order[place]] == ids
            fold_of = np.where(known_id, cache["folds"][order[place]], 0)
            features = cache["featurizer"].of_texts([texts[n] for n in changed],
                                                    ctx.vectors[[rows[n] for n in changed]])
            for fold in np.unique(fold_of):
                picked = np.flatnonzero(fold_of == fold)
                probabilities[changed[picked]] = predict(cache["models"][fold], features[picked],
                                                         len(key["classes"]))
        return probabilities

    @staticmethod
    def _path(cache_dir: Path) -> Path:
        return cache_dir / "label_issue.pickle"

    def _load(self, cache_dir: Path | None):
        if cache_dir is None or not self._path(cache_dir).exists():
            return None
        try:
            with self._path(cache_dir).open("rb") as handle:
                return pickle.load(handle)  # written by this app only, in its own data directory
        except Exception:  # unreadable (an older version, a partial write): recompute
            return None

    def _save(self, cache_dir: Path | None, data: dict) -> None:
        if cache_dir is None:
            return
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = self._path(cache_dir).with_suffix(".partial")
        with partial.open("wb") as handle:
            pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
        partial.replace(self._path(cache_dir))
