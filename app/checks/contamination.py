"""contamination: training pairs that match an item of a reference set (an eval set, a test set, a benchmark).

Three kinds of match, strongest first; each flagged pair gets one finding, of its strongest match:
- `exact`: the normalised input, or input + output, of the pair equals that of a reference item
  (NFKC, casefolded, whitespace collapsed, as the exact_duplicate check compares).
- `ngram`: the pair shares a word `ngram` (13 by default, as GPT-3's and datatrove's decontamination) with a
  reference item. Shorter n-grams flag boilerplate: on Debian descriptions 8-grams join hundreds of unrelated
  packages ("This package contains the development files for ..."). An n-gram that more than
  `ngram_max_pairs` training pairs share is boilerplate too (a licence line, the template of a package family)
  and matches nothing, as GPT-3's decontamination left out frequent 13-grams. similarity = the share of the
  reference item's n-grams that the pair contains.
- `semantic`: the cosine similarity of the pair's input embedding and the reference item's input embedding
  is at or above `semantic_threshold`, on the analysis's own embedder. Paraphrases that share no 13-gram are
  what this finds; README "Contamination" has the measurement behind the default threshold.

Scale: exact matching is a hash lookup; n-grams are hashed words rolled into 64-bit n-gram keys with numpy
(no Python loop per n-gram) and looked up in the sorted reference keys; the semantic search is faiss's exact
inner-product search of every training vector against the reference vectors (a reference set is small next
to the training data: 10,000 items against 1,000,000 pairs is one BLAS product per block).
"""

import re
from itertools import chain

import numpy as np
from pydantic import Field, StrictBool

from app.checks.base import AnalysisContext, CheckSettings, FindingDraft, ReferenceSet, clip01
from app.task_types import TaskType
from app.text import normalise

WORD = re.compile(r"\w+")
# Odd 64-bit multiplier of the polynomial rolling hash (the golden-ratio constant).
ROLL = np.uint64(0x9E3779B97F4A7C15)
SEMANTIC_BLOCK = 8192  # training vectors searched per faiss call: bounds the (block x reference) scores


class ContaminationSettings(CheckSettings):
    reference_datasets: list[int] = Field(default_factory=list, max_length=100)
    ngram: int = Field(default=13, ge=5, le=50)
    # A word n-gram that more training pairs than this share is boilerplate, not a copied eval item.
    ngram_max_pairs: int = Field(default=10, ge=1, le=1_000_000)
    semantic_threshold: float = Field(default=0.88, gt=0, le=1)
    semantic: StrictBool = True


def _normalised_keys(inputs: list[str], outputs: list[str]) -> tuple[list[str], list[str]]:
    normal_inputs = [normalise(text) for text in inputs]
    return normal_inputs, [f"{i}\x1f{normalise(o)}" for i, o in zip(normal_inputs, outputs, strict=True)]


def exact_matches(inputs: list[str], outputs: list[str], ref_inputs: list[str],
                  ref_outputs: list[str]) -> dict[int, int]:
    """position of a pair -> position of the reference item whose input or input + output it equals."""
    ref_in, ref_both = _normalised_keys(ref_inputs, ref_outputs)
    where: dict[str, int] = {}
    for keys in (ref_both, ref_in):  # an input match wins over a whole-pair one: more specific for the reviewer
        for position, key in enumerate(keys):
            if key:
                where.setdefault(key, position)
    found: dict[int, int] = {}
    normal_in, normal_both = _normalised_keys(inputs, outputs)
    for position, (key_in, key_both) in enumerate(zip(normal_in, normal_both, strict=True)):
        at = where.get(key_in) if key_in else None
        if at is None:
            at = where.get(key_both)
        if at is not None:
            found[position] = at
    return found


def ngram_keys(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit key of every word n-gram, position of the text it is in). Words: runs of letters and digits of
    the normalised text, so punctuation and spacing do not hide a copy."""
    words = [WORD.findall(normalise(text)) for text in texts]
    lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    # hash() of a str is salted per process, which is fine: both sides are hashed in this one process.
    flat = np.fromiter(map(hash, chain.from_iterable(words)), dtype=np.int64, count=int(lengths.sum()))
    flat = flat.view(np.uint64)
    starts = len(flat) - n + 1
    if starts <= 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    keys = np.zeros(starts, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            keys = keys * ROLL + flat[j:j + starts]
    text_of_word = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    whole = text_of_word[:starts] == text_of_word[n - 1:n - 1 + starts]  # the n-gram does not cross two texts
    return keys[whole], text_of_word[:starts][whole]


def ngram_matches(texts: list[str], ref_texts: list[str], n: int,
                  max_texts_per_ngram: int | None = None) -> dict[int, tuple[int, float]]:
    """position of a text -> (position of the reference text it shares most n-grams with, the share of that
    reference text's n-grams it contains). An n-gram found in more than `max_texts_per_ngram` of `texts` is
    boilerplate (a licence line, a package family's template) and matches nothing."""
    ref_keys, ref_of = ngram_keys(ref_texts, n)
    if not len(ref_keys):
        return {}
    ref_ngrams = np.bincount(ref_of, minlength=len(ref_texts))
    ref_keys, first = np.unique(ref_keys, return_index=True)
    ref_of = ref_of[first]
    keys, text_of = ngram_keys(texts, n)
    at = np.searchsorted(ref_keys, keys).clip(max=len(ref_keys) - 1)
    hit = ref_keys[at] == keys
    if not hit.any():
        return {}
    if max_texts_per_ngram is not None:  # every text holding a reference n-gram is a hit: count texts per n-gram there
        hit_keys = np.unique(np.stack([keys[hit].view(np.int64), text_of[hit]], axis=1), axis=0)[:, 0]
        common_keys, in_texts = np.unique(hit_keys, return_counts=True)
        boilerplate = common_keys[in_texts > max_texts_per_ngram].view(np.uint64)
        hit &= ~np.isin(keys, boilerplate)
        if not hit.any():
            return {}
    pair = text_of[hit] * len(ref_texts) + ref_of[at[hit]]
    pairs, shared = np.unique(pair, return_counts=True)
    text_positions, ref_positions = np.divmod(pairs, len(ref_texts))
    share = shared / np.maximum(ref_ngrams[ref_positions], 1)
    best: dict[int, tuple[int, float]] = {}
    for text, ref, value in zip(text_positions.tolist(), ref_positions.tolist(), share.tolist(), strict=True):
        if text not in best or value > best[text][1]:
            best[text] = (ref, min(1.0, value))
    return best


def semantic_matches(vectors: np.ndarray, ref_vectors: np.ndarray, threshold: float) -> dict[int, tuple[int, float]]:
    """position of a vector -> (position of its most similar reference vector, cosine), where cosine >= threshold."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    ref_vectors = np.ascontiguousarray(ref_vectors, dtype=np.float32)
    if not len(vectors) or not len(ref_vectors) or vectors.shape[1] != ref_vectors.shape[1]:
        return {}
    index = faiss.IndexFlatIP(ref_vectors.shape[1])
    index.add(ref_vectors)
    found: dict[int, tuple[int, float]] = {}
    for start in range(0, len(vectors), SEMANTIC_BLOCK):
        sims, rows = index.search(vectors[start:start + SEMANTIC_BLOCK], 1)
        for offset in np.nonzero(sims[:, 0] >= threshold)[0].tolist():
            found[start + offset] = (int(rows[offset, 0]), float(sims[offset, 0]))
    return found


KIND_ORDER = {"exact": 0, "ngram": 1, "semantic": 2}


class ContaminationCheck:
    name = "contamination"
    description = ("Pairs whose input, or input and output, match an item of a reference set (an eval or test set "
                   "named in settings.contamination.reference_datasets): exactly, by a shared 13-word sequence, or "
                   "by embedding similarity at or above `semantic_threshold`.")
    task_types = frozenset({TaskType.generation, TaskType.classification})
    # The semantic match reuses the vectors the neighbour checks need; it does not make an analysis embed by itself
    # (with every embedding check disabled, exact and n-gram matches still run, and the job notes say so).
    needs_embeddings = False
    dataset_level = False
    forms_clusters = False
    blocks_readiness = True
    excluded_from_export = True
    settings_model = ContaminationSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        settings: ContaminationSettings = ctx.settings_of(self)
        if not ctx.references or not ctx.examples:
            return []
        inputs = [e.input for e in ctx.examples]
        outputs = [e.output for e in ctx.examples]
        pair_texts = [f"{i}\n{o}" for i, o in zip(inputs, outputs, strict=True)]
        best: dict[int, tuple[str, ReferenceSet, int, float]] = {}  # row -> (kind, reference, its row, similarity)

        def offer(row: int, kind: str, reference: ReferenceSet, ref_row: int, similarity: float) -> None:
            current = best.get(row)
            if current is None or (KIND_ORDER[kind], -similarity) < (KIND_ORDER[current[0]], -current[3]):
                best[row] = (kind, reference, ref_row, similarity)

        for reference in ctx.references:
            for row, ref_row in exact_matches(inputs, outputs, reference.inputs, reference.outputs).items():
                offer(row, "exact", reference, ref_row, 1.0)
            ref_texts = [f"{i}\n{o}" for i, o in zip(reference.inputs, reference.outputs, strict=True)]
            for row, (ref_row, share) in ngram_matches(pair_texts, ref_texts, settings.ngram,
                                                       settings.ngram_max_pairs).items():
                offer(row, "ngram", reference, ref_row, share)
            if settings.semantic and (ctx.vectors is None or reference.vectors is None):
                ctx.notes["contamination"] = ("semantic matches skipped: no embeddings in this analysis (every check "
                                              "that embeds is disabled)")
            elif settings.semantic:
                for row, (ref_row, cosine) in semantic_matches(ctx.vectors, reference.vectors,
                                                                settings.semantic_threshold).items():
                    offer(row, "semantic", reference, ref_row, cosine)
        return [self._draft(ctx, row, *match, settings) for row, match in sorted(best.items())]

    def _draft(self, ctx: AnalysisContext, row: int, kind: str, reference: ReferenceSet, ref_row: int,
               similarity: float, settings: ContaminationSettings) -> FindingDraft:
        ref_id = int(reference.ids[ref_row])
        similarity = round(clip01(similarity), 4)
        how = {"exact": "is the same as",
               "ngram": f"shares {settings.ngram}-word sequences ({similarity:.0%} of its {settings.ngram}-grams) with",
               "semantic": f"says nearly the same (similarity {similarity:.2f}) as"}[kind]
        return FindingDraft(ctx.examples[row].id, self.name, 1.0 if kind == "exact" else similarity, {
            "reference_dataset_id": reference.dataset_id, "reference_dataset": reference.name,
            "reference_example_id": ref_id, "match": kind, "similarity": similarity,
            "message": f"This pair {how} item {ref_id} of the reference set '{reference.name}': "
                       f"training on it would leak that evaluation.",
        })
