"""Rated completions, as in UltraFeedback: a prompt (`prompt` or `instruction`, a string or messages) and
`completions`, each with a score. Pairs are derived from the scores by a documented rule:

- by default, best against worst: one pair, the highest-scored completion chosen and the lowest rejected
  (on a tie the earlier completion of the list wins the top place and the later one the bottom place);
- with the import option `rated_margin` = m > 0, every pair of completions whose scores differ by at
  least m, the higher one chosen (ids get a `#i>j` suffix naming the two completions' positions).

A completion is `{"text"|"response"|"completion"|"content": ..., "score"|"overall_score"|"rating": n}`,
or `completions` is a list of strings with a parallel `scores` list. A record whose completions all
score the same (or, with a margin, none differ enough) states no preference and is refused.
"""

import math

from app.importers.formats import FieldError, type_name
from app.importers.preference import preference_format, preference_pair, prompt_turns

KEYS = {"prompt", "instruction", "completions", "scores", "system"}
TEXT_KEYS = ("text", "response", "completion", "content")
SCORE_KEYS = ("score", "overall_score", "rating")


def recognises(record) -> bool:
    """`completions` (a list, when the record itself is given rather than its keys)."""
    return "completions" in record and (not isinstance(record, dict) or isinstance(record["completions"], list))


def _score(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldError(field, f"'{field}' must be a number, got {type_name(value)}")
    try:
        score = float(value)  # UltraFeedback keeps some ratings as strings ("4")
    except ValueError:
        raise FieldError(field, f"'{field}' must be a number, got '{value[:50]}'") from None
    if math.isnan(score) or math.isinf(score):
        raise FieldError(field, f"'{field}' must be a finite number")
    return score


def scored_completions(record: dict) -> list[tuple[str, float]]:
    completions = record["completions"]
    scores = record.get("scores")
    if scores is not None:
        if not isinstance(scores, list) or len(scores) != len(completions):
            raise FieldError("scores", "'scores' must be a list as long as 'completions'")
    rated = []
    for i, item in enumerate(completions):
        if isinstance(item, str) and scores is not None:
            rated.append((item, _score(scores[i], f"scores[{i}]")))
            continue
        if not isinstance(item, dict):
            raise FieldError(f"completions[{i}]", "each completion must be an object with a text and a score "
                                                  "(or a string, with a parallel 'scores' list)")
        text_key = next((k for k in TEXT_KEYS if k in item), None)
        if text_key is None or not isinstance(item[text_key], str):
            raise FieldError(f"completions[{i}]", f"a completion needs its text as a string in one of: "
                                                  f"{', '.join(TEXT_KEYS)}")
        score_key = next((k for k in SCORE_KEYS if k in item), None)
        if score_key is None:
            raise FieldError(f"completions[{i}]", f"a completion needs a score in one of: {', '.join(SCORE_KEYS)}")
        rated.append((item[text_key], _score(item[score_key], f"completions[{i}].{score_key}")))
    if len(rated) < 2:
        raise FieldError("completions", "at least two completions are needed to make a pair")
    return rated


def to_pairs(record: dict, options: dict) -> list[dict]:
    prompt = prompt_turns(record, "prompt" if "prompt" in record else "instruction")
    rated = scored_completions(record)
    margin = options.get("rated_margin")
    if not margin:
        best = max(range(len(rated)), key=lambda i: (rated[i][1], -i))
        worst = min(range(len(rated)), key=lambda i: (rated[i][1], -i))
        if rated[best][1] == rated[worst][1]:
            raise FieldError("completions", "every completion has the same score: no preference to derive")
        return [preference_pair(prompt, rated[best][0], rated[worst][0])]
    pairs = [preference_pair(prompt, rated[i][0], rated[j][0], id_suffix=f"#{i}>{j}")
             for i in range(len(rated)) for j in range(len(rated)) if rated[i][1] - rated[j][1] >= margin]
    if not pairs:
        raise FieldError("completions", f"no two completions' scores differ by the margin of {margin:g} or more")
    return pairs


FORMAT = preference_format(
    "rated", "Rated completions (UltraFeedback): prompt + completions with scores; best vs worst, or a margin", KEYS,
    recognises, to_pairs, specificity=70, shape="completions with scores (rated)",
)
