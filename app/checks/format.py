"""format: deterministic rules on each pair's text and structure.

One finding per example, listing every rule it breaks; the score is that of the worst rule.
"""

import json
import re
from typing import Annotated, Any

from pydantic import Field, StrictBool

from app.checks.base import AnalysisContext, CheckSettings, ExampleRow, FindingDraft
from app.task_types import ALL_TASK_TYPES
from app.text import REPLACEMENT_CHAR

# How sure each rule is that the pair is broken (the finding's score is the highest).
RULE_SCORES = {
    "empty_input": 1.0, "empty_output": 1.0, "label_not_allowed": 1.0, "output_not_json": 1.0,
    "output_schema": 1.0, "broken_unicode": 0.9, "control_characters": 0.9, "role_order": 0.9,
    "too_many_tokens": 0.8, "surrounding_whitespace": 0.3,
    "empty_rejected": 1.0, "rejected_not_json": 1.0, "rejected_schema": 1.0,
}
KNOWN_ROLES = {"system", "user", "assistant", "tool"}


# Unicode category Cc (C0, DEL, C1) except tab, newline and carriage return.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def role_order_problem(history: list[dict[str, Any]] | None, has_system: bool) -> str | None:
    """Why the earlier turns are in an impossible order, or None. The pair's input is the next user turn."""
    if not history:
        return None
    roles = [str(m.get("role", "")) for m in history]
    unknown = sorted({r for r in roles if r not in KNOWN_ROLES})
    if unknown:
        return f"unknown role(s) {', '.join(repr(r) for r in unknown)} in the history"
    if "system" in roles[1:]:
        return "a system message appears after the first turn"
    if roles[0] == "system" and has_system:
        return "the history has a system message and the pair has a system prompt too"
    turns = [r for r in roles if r != "system"]
    if turns and turns[0] != "user":
        return f"the history starts with '{turns[0]}' instead of 'user'"
    for previous, current in zip(turns, turns[1:]):
        if current == previous and current != "tool":
            return f"two '{current}' turns follow each other"
        if current == "tool" and previous not in ("assistant", "tool"):
            return "a tool turn does not follow an assistant turn"
    if turns and turns[-1] == "user":
        return "the history ends with a user turn, so the input would be a second user turn in a row"
    return None


class FormatSettings(CheckSettings):
    max_tokens: Annotated[int, Field(ge=1, le=100_000_000, description="most tokens a pair may have")] = 4096
    check_whitespace: StrictBool = True


def _schema_problems(validator, field: str, name: str, text: str) -> list[tuple[str, str]]:
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        return [(f"{field}_not_json", f"the {name} is not valid JSON ({exc.msg} at position {exc.pos})")]
    error = next(iter(validator.iter_errors(parsed)), None)
    if error is None:
        return []
    where = "/".join(str(p) for p in error.absolute_path) or "the top level"
    return [(f"{field}_schema", f"the {name} does not match the output schema at {where}: {error.message[:200]}")]


class FormatCheck:
    name = "format"
    description = ("Empty input or output (either answer of a preference pair), leading/trailing whitespace, "
                   "control characters or broken Unicode, "
                   "output outside the label set, output that is not JSON or fails the output schema, more than "
                   "`max_tokens` tokens (the dataset's target tokenizer, o200k_base unless set), chat history in a wrong role order.")
    task_types = ALL_TASK_TYPES
    needs_embeddings = False
    dataset_level = False
    forms_clusters = False
    blocks_readiness = False
    excluded_from_export = True
    settings_model = FormatSettings

    def run(self, ctx: AnalysisContext) -> list[FindingDraft]:
        settings: FormatSettings = ctx.settings_of(self)
        validator = self._schema_validator(ctx.dataset.output_schema)
        token_counts = self._token_counts(ctx)
        allowed_labels = frozenset(ctx.dataset.label_set or ())  # a set: labels x examples would be quadratic
        drafts = []
        for example, tokens in zip(ctx.examples, token_counts, strict=True):
            problems = self._problems(ctx, example, validator, settings, allowed_labels)
            if tokens > settings.max_tokens:
                problems.append(("too_many_tokens",
                                 f"the pair has {tokens} tokens, more than the limit of {settings.max_tokens}"))
            if problems:
                rules = [rule for rule, _ in problems]
                message = "; ".join(text for _, text in problems)
                drafts.append(FindingDraft(example.id, self.name, max(RULE_SCORES[r] for r in rules), {
                    "rules": rules, "message": message[0].upper() + message[1:] + ".",
                }))
        return drafts

    @staticmethod
    def _schema_validator(schema):
        if not schema:
            return None
        from app.output_schema import check_output_schema, output_validator

        check_output_schema(schema)  # one saved before these rules: the job fails with the reason
        return output_validator(schema)

    @staticmethod
    def _token_counts(ctx: AnalysisContext) -> list[int]:
        from app.embeddings.target_tokenizer import count_cached
        from app.embeddings.tokenizer import count_tokens_cached, training_text

        # The same texts and cache as the export's token statistics, so an export after an analysis counts nothing.
        texts = [training_text(e.system, e.history, e.input, e.output) for e in ctx.examples]

        def count(texts: list[str]) -> list[int]:
            if ctx.tokenizer is None:  # no target tokenizer given: the embedding model's
                return count_tokens_cached(texts, ctx.token_cache)
            return count_cached(ctx.tokenizer, texts, ctx.token_cache)

        counts = count(texts)
        paired = [i for i, e in enumerate(ctx.examples) if e.rejected is not None]
        if paired:  # a preference pair is two training sequences: the longer one must fit
            rejected_counts = count([training_text(ctx.examples[i].system, ctx.examples[i].history,
                                                   ctx.examples[i].input, ctx.examples[i].rejected) for i in paired])
            for i, n in zip(paired, rejected_counts, strict=True):
                counts[i] = max(counts[i], n)
        return counts

    def _problems(self, ctx: AnalysisContext, e: ExampleRow, validator,
                  settings: FormatSettings, allowed_labels: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        paired = e.rejected is not None
        sides = [("input", "input", e.input), ("output", "chosen answer" if paired else "output", e.output)]
        if paired:
            sides.append(("rejected", "rejected answer", e.rejected))
        for field, name, text in sides:
            if not text.strip():
                problems.append((f"empty_{field}", f"the {name} is empty"))
            elif settings.check_whitespace and text != text.strip():
                problems.append(("surrounding_whitespace", f"the {name} starts or ends with whitespace"))
        texts = {"input": e.input, "output": e.output, "system prompt": e.system or ""}
        if paired:
            texts["rejected answer"] = e.rejected
        texts.update({f"history turn {i + 1}": str(m.get("content", "")) for i, m in enumerate(e.history or [])})
        broken = [name for name, text in texts.items() if REPLACEMENT_CHAR in text]
        if broken:
            problems.append(("broken_unicode", f"the {', '.join(broken)} contains broken text (U+FFFD, "
                                               "an undecodable byte or NUL at import)"))
        control = [name for name, text in texts.items() if _has_control(text)]
        if control:
            problems.append(("control_characters", f"the {', '.join(control)} contains control characters"))
        if allowed_labels and e.output.strip():
            value = e.label if e.label is not None else e.output.strip()
            if value not in allowed_labels:
                problems.append(("label_not_allowed", f"'{value[:100]}' is not one of the dataset's labels"))
        if validator is not None:
            answers = [("output", "output" if not paired else "chosen answer", e.output)]
            if paired:
                answers.append(("rejected", "rejected answer", e.rejected))
            for field, name, text in answers:
                if text.strip():
                    problems += _schema_problems(validator, field, name, text)
        reason = role_order_problem(e.history, bool(e.system))
        if reason:
            problems.append(("role_order", reason))
        return problems
