"""`{"input", "output", "system"?}`: the plain shape."""

from app.importers.formats import ImportFormat, pair, string_field


def map_input_output(record: dict) -> dict:
    return pair(string_field(record, "system", required=False), string_field(record, "input"), string_field(record, "output"))


FORMAT = ImportFormat(
    name="input_output", description="input/output (optional system)", keys=frozenset({"input", "output", "system"}),
    to_pair=map_input_output, recognises=lambda keys: "input" in keys and "output" in keys, specificity=10,
    shape="input/output",
)
