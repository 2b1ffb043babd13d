"""The export's README.md: a Hugging Face dataset card (YAML front matter + the manifest's figures in prose).

Every text that comes from the user (dataset name, labels) is escaped for Markdown and HTML, so that
a label holding `|`, `# heading`, `<script>` or a newline shows as that text and breaks no table.
"""

import hashlib
import html
import json
import re

SIZE_BUCKETS = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                (10_000_000, "1M<n<10M"))
TASK_CATEGORY = {"classification": "text-classification", "generation": "text-generation"}


def size_category(n: int) -> str:
    for limit, name in SIZE_BUCKETS:
        if n < limit:
            return name
    return "n>10M"


def _yaml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid YAML scalar, quotes and all


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md(value: object) -> str:
    """User text as literal Markdown inline text: HTML escaped, Markdown punctuation backslash-escaped,
    line breaks as spaces (a newline would end a table row or a heading)."""
    text = " ".join(str(value).split("\n")).replace("\r", " ")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def config_name(manifest: dict) -> str:
    """A config name unique to this export's content: `datasets` keys its cache on the folder name, the
    config name and the card, so a second export into a folder of the same name must name another."""
    digest = hashlib.sha256("".join(f"{name}:{figures['sha256']};" for name, figures in
                                    sorted(manifest["files"].items())).encode()).hexdigest()[:12]
    return f"export-{manifest['export_id']}-{digest}"


def render_card(manifest: dict) -> str:
    dataset = manifest["dataset"]
    splits = manifest["counts"]["splits"]
    present = [name for name, figures in splits.items() if figures["total"] > 0]
    lines = ["---", "configs:", f"- config_name: {config_name(manifest)}", "  default: true", "  data_files:"]
    for name in present:
        lines += [f"  - split: {name}", f"    path: {name}.jsonl"]
    lines += ["task_categories:", f"- {TASK_CATEGORY.get(dataset['task_type'], 'text-generation')}",
              "size_categories:", f"- {size_category(manifest['counts']['total'])}",
              f"pretty_name: {_yaml_str(dataset['name'])}", "---", ""]
    leakage = manifest["leakage"]
    tokens = manifest["tokens"]
    excluded = manifest["excluded"]
    params = manifest["params"]
    lines += [
        f"# {md(dataset['name'])}", "",
        (f"Exported by Winnow (export {manifest['export_id']}) in the `{manifest['format']['name']}` format "
        f"({', '.join('`' + k + '`' for k in manifest['format']['keys'])} per line), seed {params['seed']}, "
        f"from {'analysis job ' + str(manifest['analysis_job_id']) if manifest['analysis_job_id'] else 'a dataset never analysed'}."),
        "",
        "```python",
        "from datasets import load_dataset",
        "ds = load_dataset(\"json\", data_files={" + ", ".join(f'"{n}": "{n}.jsonl"' for n in present) + "})",
        "```", "",
        "## Splits", "",
        "| split | ratio | examples | tokens min / mean / p95 / max |", "|---|---|---|---|",
    ]
    for name, figures in splits.items():
        t = tokens["splits"][name]
        lines.append(f"| {name} | {params['splits'][name]:g} | {figures['total']} | "
                     f"{t['min']} / {t['mean']:.1f} / {t['p95']:.0f} / {t['max']} |")
    lines += ["", (f"Estimated training tokens for {tokens['epochs']} epoch(s) of the train split: "
                  f"{tokens['estimated_training_tokens']:,} (counted with {tokens['tokenizer']})."), ""]
    labels = manifest["counts"]["labels"]
    if list(labels) != ["(unlabelled)"]:
        lines += ["## Labels", "", "| label | " + " | ".join(splits) + " | total |",
                  "|---|" + "---|" * (len(splits) + 1)]
        for label, total in labels.items():
            lines.append(f"| {md(label)} | " + " | ".join(str(splits[s]["labels"].get(label, 0)) for s in splits)
                         + f" | {total} |")
        lines.append("")
    if manifest.get("warnings"):
        lines += ["## Warnings", "", *(f"- {md(w)}" for w in manifest["warnings"]), ""]
    if manifest["format"].get("not_carried"):
        lines += [f"Not carried by the `{manifest['format']['name']}` format: "
                  + "; ".join(md(x) for x in manifest["format"]["not_carried"]) + ".", ""]
    checks = manifest.get("format_checks")
    if checks:
        lines += [f"## {checks['rules']} rules", "",
                  "Passed." if checks["passed"] else
                  "Violations: " + ", ".join(f"{rule} {n}" for rule, n in checks["violations_by_rule"].items())
                  + " (listed in `manifest.json`).", ""]
    lines += [
        "## What was left out", "",
        (f"{excluded['total']} example(s): by status {json.dumps(excluded['by_status'])}, "
        f"by open finding {json.dumps(excluded['by_check'])}, duplicates dropped by `{params['dedupe']}`: "
        f"{excluded['dedupe']}."), "",
        "## Leakage check", "",
        (f"{'Passed' if leakage['passed'] else 'FAILED'}: validation/test inputs that exactly repeat a train input: "
        f"{json.dumps(leakage['exact_duplicates'])}; near-duplicates (cosine >= {leakage['near_duplicate_threshold']}): "
        f"{json.dumps(leakage['near_duplicates']) if leakage['near_duplicates'] is not None else leakage['near_check']}."),
        "", "Example ids, metadata and file checksums are in `manifest.json`.", "",
    ]
    return "\n".join(lines)
