"""label_issue: labels that are probably wrong, by confident learning (cleanlab).

Out-of-sample class probabilities come from K-fold cross-validated linear classifiers (scikit-learn
`StratifiedKFold`; `SGDClassifier` with log loss by default, `LogisticRegression` lbfgs on request) on
input features: the input embedding next to TF-IDF of hashed word 1-2-grams (`HashingVectorizer` +
`TfidfTransformer`: no vocabulary to build or hold; n-grams seen in only one text are dropped, they
add noise and no signal), or the embedding alone (`features`).
`cleanlab.filter.find_label_issues` picks the likely errors and `cleanlab.rank.get_label_quality_scores`
scores them (score = 1 - quality). Classes with fewer than K examples cannot be cross-validated: they
are left out and named in the job result.

Scale: SGD costs a few passes over its training rows, and each fold's model learns from at most
`max_train_rows` of them (a random sample that keeps every row of a class under `SMALL_CLASS`). The
features of a row are built when a fold needs them, batch by batch, never for the whole dataset at
once, so a million pairs cost minutes and bounded memory. benchmarks/README.md has the quality of each
model against the transformer-based check this one replaced (`benchmarks/bench_label_issue.py`).

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

CACHE_VERSION = 3
HASHED_FEATURES = 2**18  # few enough collisions for a million texts' word pairs
MIN_DOCUMENT_FREQUENCY = 2  # an n-gram must appear in this many of the IDF's texts to be a feature
FEATURE_BATCH = 50_000
FIT_ROWS = 100_000  # rows the IDF is fitted on: more would not change it
SMALL_CLASS = 200  # classes with fewer training rows than this are never sampled down
MAX_ITER = 300  # lbfgs's solver budget
SGD_EPOCHS = 30  # passes over the training rows at most (it stops earlier once the loss settles)
SGD_JOBS = 2  # classes fitted side by side (one-vs-rest); SGD's inner loop releases the GIL
LBFGS_AUTO_MAX_ROWS = 500  # `model: auto` fits lbfgs up to this many labelled pairs, SGD above


class TextFeatures:
    """The classifier's input: the embedding, next to TF-IDF of hashed word 1-2-grams (sparse)."""

    def __init__(self, with_tfidf: bool = True) -> None:
        self.with_tfidf = with_tfidf
        self.tfidf = None
        self.columns: np.ndarray | None = None  # the hashed columns kept (document frequency high enough)

    @staticmethod
    def _counts(texts: list[str]):
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(ngram_range=(1, 2), n_features=HASHED_FEATURES, alternate_sign=False, norm=None,
                                 dtype=np.float32).transform(texts)

    def fit(self, texts: list[str], seed: int = 0) -> "TextFeatures":
        """Kept columns and IDF from at most FIT_ROWS of the texts."""
        from sklearn.feature_extraction.text import TfidfTransformer

        if not self.with_tfidf or not texts:
            return self
        if len(texts) > FIT_ROWS:
            picked = np.random.default_rng(seed).choice(len(texts), FIT_ROWS, replace=False)
            texts = [texts[i] for i in np.sort(picked)]
        counts = self._counts(texts)
        frequency = np.bincount(counts.indices, minlength=HASHED_FEATURES)
        self.columns = np.flatnonzero(frequency >= min(MIN_DOCUMENT_FREQUENCY, len(texts)))
        self.tfidf = TfidfTransformer(sublinear_tf=True).fit(counts[:, self.columns])
        return self

    def text_part(self, texts: list[str]):
        """The TF-IDF part of texts (sparse float32); None without."""
        if self.tfidf is None:
            return None
        return self.tfidf.transform(self._counts(texts)[:, self.columns]).astype(np.float32)

    @staticmethod
    def join(vectors: np.ndarray, text_part):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if text_part is None:
            return vectors
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


def model_kind(settings: "LabelIssueSettings", rows: int) -> str:
    """`auto`: lbfgs up to LBFGS_AUTO_MAX_ROWS labelled pairs (cheap there, and more precise on a few hundred
    pairs), SGD above (benchmarks/README.md, label_issue)."""
    if settings.model != "auto":
        return settings.model
    return "lbfgs" if rows <= LBFGS_AUTO_MAX_ROWS else "sgd"


def new_model(settings: "LabelIssueSettings", kind: str, seed: int = 0):
    """The fold classifier. SGD (log loss, one-vs-rest, its classes fitted in parallel) makes a few passes
    over the rows, so its cost grows linearly; lbfgs logistic regression is the exact multinomial fit."""
    if kind == "sgd":
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(loss="log_loss", alpha=settings.alpha, max_iter=SGD_EPOCHS, tol=1e-4,
                             random_state=seed, n_jobs=SGD_JOBS)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=settings.C, max_iter=MAX_ITER)


def predict(model, features, n_classes: int) -> np.ndarray:
    """Class probabilities over all n_classes (a fold whose sample missed a class gives it 0)."""
    probabilities = np.zeros((features.shape[0], n_classes))
    probabilities[:, model.classes_] = model.predict_proba(features)
    return probabilities


def cross_validated(featurizer: TextFeatures, texts: list[str], vectors: np.ndarray, labels: np.ndarray,
                    settings: "LabelIssueSettings", seed: int = 0, progress=None,
                    vector_rows: np.ndarray | None = None):
    """(out-of-sample probabilities, fold models, fold index of each row). Row i is texts[i], and its
    embedding is vectors[vector_rows[i]] (all of `vectors` in order without vector_rows: no copy is made)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    n, n_classes, folds = len(labels), int(labels.max()) + 1, settings.folds
    probabilities = np.zeros((n, n_classes), dtype=np.float32)  # a million rows x 60 classes: 240 MB, not 480
    fold_of = np.zeros(n, dtype=np.int64)
    models = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)

    def features(rows):
        embedding = vectors[vector_rows[rows] if vector_rows is not None else rows]
        return featurizer.of_texts([texts[i] for i in rows], embedding)

    for fold, (train, test) in enumerate(splitter.split(np.zeros(n), labels)):
        if progress:
            progress(fold, folds)
        sample = training_sample(train, labels, settings.max_train_rows, seed + fold)
        with warnings.catch_warnings():  # a bounded number of iterations is the point: no "did not converge" noise
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = new_model(settings, model_kind(settings, n), seed + fold).fit(features(sample), labels[sample])
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
    model: Literal["auto", "sgd", "lbfgs"] = "auto"
    alpha: Annotated[float, Field(gt=0, le=1, description="regularisation of the SGD classifier")] = 3e-5
    C: Annotated[float, Field(gt=0, le=1_000_000, description="inverse regularisation of the lbfgs "
                                                             "classifier")] = 4.0
    reuse_max_changed: Annotated[float, Field(ge=0, le=1, description="share of changed pairs that still reuses "
                                                                     "the last run's models")] = 0.05
    max_train_rows: Annotated[int, Field(ge=100, le=100_000_000, description="training pairs per fold at most "
                                         "(a random sample above it)")] = 50_000


class LabelIssueCheck:
    name = "label_issue"
    description = ("Pairs whose label is probably wrong: cleanlab on out-of-sample probabilities of K-fold "
                   "cross-validated linear classifiers over the input (embedding + TF-IDF of hashed word "
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
               **settings.model_dump(include={"folds", "features", "model", "alpha", "C", "max_train_rows"})}
        reused = self._reuse(ctx, rows, texts, prints, key, settings)
        if reused is not None:
            return reused
        featurizer = TextFeatures(with_tfidf=settings.features != "embedding").fit(texts)

        def folded(done: int, total: int) -> None:
            if ctx.progress:
                ctx.progress("label_issue: cross-validation", done, total, "folds")

        probabilities, models, fold_of = cross_validated(
            featurizer, texts, ctx.vectors, labels, settings, progress=folded, vector_rows=np.asarray(rows))
        order = np.argsort(prints, kind="stable")
        self._save(ctx.cache_dir, {
            "key": key, "fingerprints": prints[order], "probabilities": probabilities[order],
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
        probabilities = np.zeros((len(rows), len(key["classes"])), dtype=np.float32)
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
