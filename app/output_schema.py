"""A dataset's output schema (JSON Schema): checked when it is saved, and run in linear time.

jsonschema runs `pattern` and `patternProperties` with Python's backtracking `re`, so a pattern such
as `^(a+)+$` takes exponential time on a crafted output and holds the interpreter meanwhile. Here
those keywords run on RE2 (google-re2), whose matching is linear in the text; a pattern RE2 cannot
run (lookaround, backreferences) is refused when the schema is saved. References must be local
(`#/...`), and a schema that refers to itself, directly or through other definitions, is refused:
validation would recurse without end on deep enough data.
"""

from functools import lru_cache
from typing import Any

import jsonschema
import re2
from jsonschema import ValidationError, validators

from app.errors import InvalidInput

FIELD = "output_schema"
MAX_PATTERN_LENGTH = 1000
NAME_MAPS = {(k,) for k in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")}
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@lru_cache(maxsize=1024)
def _compiled(pattern: str):
    return re2.compile(pattern, _OPTIONS)


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, pattern_properties, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in pattern_properties.items():
        regex = _compiled(pattern)
        for key, value in instance.items():
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _linear_time(base):
    return validators.extend(base, {"pattern": _pattern, "patternProperties": _pattern_properties})


def output_validator(schema: dict[str, Any]):
    """A validator for `schema` whose regular expressions run on RE2. The schema must have passed check_output_schema."""
    return _linear_time(validators.validator_for(schema))(schema)


def _walk(node: Any, pointer: tuple[str, ...] = ()):
    """(pointer, node) for every object in the schema."""
    stack = [(pointer, node)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            yield where, item
            stack.extend((where + (str(k),), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((where + (str(i),), v) for i, v in enumerate(item))


def _pointer(ref: str) -> tuple[str, ...]:
    if not ref.startswith("#") or (len(ref) > 1 and not ref.startswith("#/")):
        raise InvalidInput(f"output_schema: only local references ('#/...') are allowed, not {ref[:100]!r}", field=FIELD)
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in ref[2:].split("/")) if len(ref) > 1 else ()


def _exists(schema: Any, pointer: tuple[str, ...]) -> bool:
    node = schema
    for part in pointer:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return isinstance(node, (dict, bool))


def _refuse_recursion(schema: dict) -> None:
    refs: list[tuple[tuple[str, ...], tuple[str, ...]]] = []  # (where the $ref is, what it points at)
    for where, node in _walk(schema):
        for keyword in ("$dynamicRef", "$recursiveRef"):
            if keyword in node:
                raise InvalidInput(f"output_schema: {keyword} is not supported (it makes the schema recursive)",
                                   field=FIELD)
        ref = node.get("$ref")
        if isinstance(ref, str) and where[-1:] not in NAME_MAPS:  # in a name map, "$ref" is a property name
            target = _pointer(ref)
            if not _exists(schema, target):
                raise InvalidInput(f"output_schema: the $ref {ref[:100]!r} points at nothing in the schema", field=FIELD)
            refs.append((where, target))
    # Following the reference at `where` continues inside `target`: it reaches every reference located
    # under `target`. A cycle in that graph is recursion.
    reaches = {i: [j for j, (other, _) in enumerate(refs) if other[:len(target)] == target]
               for i, (_, target) in enumerate(refs)}
    state: dict[int, int] = {}
    for start in reaches:
        stack = [(start, iter(reaches[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                where = "/".join(refs[child][0]) or "the top level"
                raise InvalidInput(f"output_schema: the $ref at {where} makes the schema refer to itself "
                                   "(recursive schemas are not supported)", field=FIELD)
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(reaches[child])))


def check_output_schema(schema: dict[str, Any] | None) -> None:
    """Refuse, with a 422 naming output_schema, a schema that is invalid, recursive, or not linear-time."""
    if schema is None:
        return
    try:
        validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InvalidInput(f"output_schema is not a valid JSON Schema: {exc.message}", field=FIELD) from exc
    _refuse_recursion(schema)
    for _where, node in _walk(schema):
        patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        if isinstance(node.get("patternProperties"), dict):
            patterns += list(node["patternProperties"])
        for pattern in patterns:
            if len(pattern) > MAX_PATTERN_LENGTH:
                raise InvalidInput(f"output_schema: a pattern is longer than {MAX_PATTERN_LENGTH} characters",
                                   field=FIELD)
            try:
                _compiled(pattern)
            except re2.error as exc:
                raise InvalidInput(f"output_schema: the pattern {pattern[:100]!r} cannot run in linear time or is "
                                   f"invalid ({exc}); lookaround and backreferences are not supported",
                                   field=FIELD) from exc
