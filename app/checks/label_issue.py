"""label_issue: labels that are probably wrong, by confident learning (cleanlab).

Out-of-sample class probabilities come from K-fold cross-validated logistic regression
(scikit-learn `cross_validate`, keeping each fold's model) on input features;
`cleanlab.filter.find_label_issues` picks the likely errors and
`cleanlab.rank.get_label_quality_scores` scores them (score = 1 - quality). Features: the input
embedding next to TF-IDF word 1-2-grams (default), or the embedding alone (`features`; README
"Analysis" has the measurement). Classes with fewer than K examples cannot be cross-validated:
they are left out and named in the job result.

Re-analysis: the probabilities and the K fold models are kept in the dataset's cache folder.
When few pairs changed (at most `reuse_max_changed` of them) and the classes are the same, the
unchanged pairs keep their probabilities and each changed or new pair is predicted by the model
of the fold that held it out, so it stays out-of-sample; otherwise everything is recomputed.
"""

import pickle
from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from app.checks.base import AnalysisContext, CheckSettings, FindingDraft, clip01
from app.task_types import SFT_TASK_TYPES
from app.text import sha256_hex

CACHE_VERSION = 1


def fit_vectorizer(texts: list[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True, dtype=np.float32)
    try:
        tfidf.fit(texts)
    except ValueError:  # no term occurs twice: nothing to add
        return None
    return tfidf


def features_with(vectorizer, texts: list[str], vectors: np.ndarray):
    if vectorizer is None:
        return vectors
    from scipy.sparse import csr_matrix, hstack

    return hstack([csr_matrix(vectors), vectorizer.transform(texts)], format="csr")


def label_features(texts: list[str], vectors: np.ndarray, kind: str):
    """The classifier's input: the embedding, or the embedding next to TF-IDF word n-grams."""
    return features_with(fit_vectorizer(texts) if kind != "embedding" else None, texts, vectors)


def cross_validated(features, labels: np.ndarray, folds: int, c: float, seed: int = 0):
    """(out-of-sample probabilities, fold models, fold index of each row)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_validate

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    result = cross_validate(LogisticRegression(C=c, max_iter=300), features, labels, cv=splitter,
                            return_estimator=True, return_indices=True, scoring=None, n_jobs=1)
    n_classes = len(np.unique(labels))
    probabilities = np.zeros((len(labels), n_classes), dtype=np.float64)
    fold_of = np.zeros(len(labels), dtype=np.int64)
    for fold, (model, test) in enumerate(zip(result["estimator"], result["indices"]["test"], strict=True)):
        probabilities[test] = model.predict_proba(features[test])
        fold_of[test] = fold
    return probabilities, list(result["estimator"]), fold_of


def out_of_sample_probabilities(features, labels: np.ndarray, folds: int, c: float, seed: int = 0) -> np.ndarray:
    return cross_validated(features, labels, folds, c, seed)[0]


def fingerprint(text: str, label: str) -> str:
    return sha256_hex(text, label)


class LabelIssueSettings(CheckSettings):
    folds: Annotated[int, Field(ge=2, le=50, description="cross-validation folds (K)")] = 5
    features: Literal["embedding+tfidf", "embedding"] = "embedding+tfidf"
    C: Annotated[float, Field(gt=0, le=1_000_000, description="inverse regularisation of the classifier")] = 4.0
    reuse_max_changed: Annotated[float, Field(ge=0, le=1, description="share of changed pairs that still reuses "
                                                                     "the last run's models")] = 0.05


class LabelIssueCheck:
    name = "label_issue"
    description = ("Pairs whose label is probably wrong: cleanlab on out-of-sample probabilities of K-fold "
                   "cross-validated logistic regression over the input (embedding + TF-IDF word n-grams).")
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
        drafts = []
        for position in np.flatnonzero(issues):
            example = ctx.examples[rows[position]]
            suggested = classes[int(np.argmax(probabilities[position]))]
            if suggested == example.label:
                continue
            top = np.argsort(-probabilities[position])[:3]
            drafts.append(FindingDraft(example.id, self.name, clip01(1.0 - quality[position]), {
                "given_label": example.label, "suggested_label": suggested,
                "top_labels": [[classes[int(k)], round(float(probabilities[position][k]), 3)] for k in top],
                "label_quality": round(float(quality[position]), 4),
                "message": f"The label '{example.label}' looks wrong for this input; '{suggested}' fits it better "
                           f"(label quality {quality[position]:.2f} of 1).",
            }))
        return drafts

    def _probabilities(self, ctx, rows, classes, labels, settings: LabelIssueSettings) -> np.ndarray:
        texts = [ctx.examples[i].input for i in rows]
        prints = [fingerprint(t, ctx.examples[i].label) for t, i in zip(texts, rows, strict=True)]
        key = {"version": CACHE_VERSION, "model": ctx.embedding_model, "classes": classes,
               **settings.model_dump(include={"folds", "features", "C"})}
        cache = self._load(ctx.cache_dir)
        if cache is not None and cache["key"] == key:
            known = dict(zip(cache["fingerprints"], range(len(cache["fingerprints"])), strict=True))
            changed = [n for n, fp in enumerate(prints) if fp not in known]
            if len(changed) <= settings.reuse_max_changed * len(rows):
                ctx.notes["label_issue_reused"] = len(rows) - len(changed)
                probabilities = np.zeros((len(rows), len(classes)))
                for n, fp in enumerate(prints):
                    if fp in known:
                        probabilities[n] = cache["probabilities"][known[fp]]
                if changed:
                    # Each changed pair is predicted by the fold model that held out its previous version.
                    ids = [ctx.examples[rows[n]].id for n in changed]
                    folds = [cache["fold_by_id"].get(i, 0) for i in ids]
                    features = features_with(cache["vectorizer"], [texts[n] for n in changed],
                                             ctx.vectors[[rows[n] for n in changed]])
                    for fold in set(folds):
                        picked = [k for k, f in enumerate(folds) if f == fold]
                        probabilities[[changed[k] for k in picked]] = cache["models"][fold].predict_proba(
                            features[picked])
                return probabilities
        vectorizer = fit_vectorizer(texts) if settings.features != "embedding" else None
        features = features_with(vectorizer, texts, ctx.vectors[rows])
        probabilities, models, fold_of = cross_validated(features, labels, settings.folds, settings.C)
        self._save(ctx.cache_dir, {
            "key": key, "fingerprints": prints, "probabilities": probabilities, "vectorizer": vectorizer,
            "models": models, "fold_by_id": {ctx.examples[i].id: int(f) for i, f in zip(rows, fold_of, strict=True)},
        })
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
