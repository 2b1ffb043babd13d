"""label_issue: labels that are probably wrong, by confident learning (cleanlab).

Out-of-sample class probabilities come from K-fold cross-validated logistic regression
(scikit-learn `cross_val_predict`) on input features; `cleanlab.filter.find_label_issues` picks
the likely errors and `cleanlab.rank.get_label_quality_scores` scores them (score = 1 - quality).
Features: the input embedding alone, or the embedding next to TF-IDF word 1-2-grams
(`features`; see README "Analysis" for the measurement behind the default). Classes with fewer
than K examples cannot be cross-validated: they are left out and named in the job result.
"""

from collections import Counter

import numpy as np

from app.checks.base import AnalysisContext, clip01
from app.services.findings import FindingDraft


def label_features(texts: list[str], vectors: np.ndarray, kind: str):
    if kind == "embedding":
        return vectors
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True,
                            dtype=np.float32)
    try:
        words = tfidf.fit_transform(texts)
    except ValueError:  # no term occurs twice: nothing to add
        return vectors
    return hstack([csr_matrix(vectors), words], format="csr")


def out_of_sample_probabilities(features, labels: np.ndarray, folds: int, c: float, seed: int = 0) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = LogisticRegression(C=c, max_iter=300)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return cross_val_predict(model, features, labels, cv=splitter, method="predict_proba", n_jobs=1)


class LabelIssueCheck:
    name = "label_issue"
    description = ("Pairs whose label is probably wrong: cleanlab on out-of-sample probabilities of K-fold "
                   "cross-validated logistic regression over the input (embedding + TF-IDF word n-grams).")
    needs_embeddings = True
    needs_labels = True
    defaults = {"folds": 5, "features": "embedding+tfidf", "C": 4.0}

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores

        settings = {**self.defaults, **ctx.settings_of(self.name)}
        folds = int(settings["folds"])
        rows = [i for i, e in enumerate(ctx.examples) if e.label is not None and e.label.strip()
                and e.status != "rejected"]
        counts = Counter(ctx.examples[i].label for i in rows)
        too_small = sorted(label for label, n in counts.items() if n < folds)
        ctx.notes["label_issue_skipped_classes"] = too_small
        rows = [i for i in rows if counts[ctx.examples[i].label] >= folds]
        classes = sorted({ctx.examples[i].label for i in rows})
        if len(classes) < 2 or ctx.vectors is None:
            ctx.notes["label_issue_skipped"] = "fewer than two classes with enough examples to cross-validate"
            return []
        class_index = {label: k for k, label in enumerate(classes)}
        labels = np.array([class_index[ctx.examples[i].label] for i in rows])
        features = label_features([ctx.examples[i].input for i in rows], ctx.vectors[rows], settings["features"])
        probabilities = out_of_sample_probabilities(features, labels, folds, float(settings["C"]))
        issues = find_label_issues(labels, probabilities, filter_by="prune_by_noise_rate")
        quality = get_label_quality_scores(labels, probabilities)
        drafts = []
        for position in np.flatnonzero(issues):
            example = ctx.examples[rows[position]]
            suggested = classes[int(np.argmax(probabilities[position]))]
            if suggested == example.label:
                continue
            drafts.append(FindingDraft(example.id, self.name, clip01(1.0 - quality[position]), {
                "given_label": example.label, "suggested_label": suggested,
                "label_quality": round(float(quality[position]), 4),
                "message": f"The label '{example.label}' looks wrong for this input; '{suggested}' fits it better "
                           f"(label quality {quality[position]:.2f} of 1).",
            }))
        return drafts
