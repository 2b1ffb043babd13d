"""`winnow export --dataset NAME --format F --out DIR` writes the same files as the API."""

import json

from typer.testing import CliRunner

from app.cli import cli


def test_cli_export_writes_the_files(client, make_dataset, import_jsonl, tmp_path):
    dataset = make_dataset("cli-export", task_type="classification")
    body = "".join(json.dumps({"prompt": f"question {i}", "completion": "yes" if i % 3 else "no"}) + "\n"
                   for i in range(30))
    assert import_jsonl(dataset["id"], body).status_code in (200, 201)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["export", "--dataset", "cli-export", "--format", "alpaca", "--out", str(out),
                                      "--splits", "0.6,0.2,0.2", "--seed", "5"])
    assert result.exit_code == 0, result.output
    assert "leakage check passed" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "manifest.json", "test.jsonl", "train.jsonl",
                                                     "validation.jsonl"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"]["name"] == "alpaca" and manifest["seed"] == 5
    assert {s: v["total"] for s, v in manifest["counts"]["splits"].items()} == {"train": 18, "validation": 6, "test": 6}
    assert len((out / "train.jsonl").read_text().splitlines()) == 18


def test_cli_export_refuses_bad_ratios(client, make_dataset, tmp_path):
    make_dataset("cli-bad")
    result = CliRunner().invoke(cli, ["export", "--dataset", "cli-bad", "--out", str(tmp_path / "o"),
                                      "--splits", "0.5,0.5,0.5"])
    assert result.exit_code == 2 and "sum to 1" in result.output


def test_cli_export_of_a_tiny_dataset_writes_no_empty_split_and_warns(client, make_dataset, import_jsonl, tmp_path):
    dataset = make_dataset("cli-tiny")
    body = "".join(json.dumps({"prompt": f"question {i}", "completion": "a"}) + "\n" for i in range(3))
    assert import_jsonl(dataset["id"], body).status_code in (200, 201)
    out = tmp_path / "out"
    out.mkdir()
    (out / "test.jsonl").write_text("stale line from an earlier export\n")
    result = CliRunner().invoke(cli, ["export", "--dataset", "cli-tiny", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.iterdir())
    manifest = json.loads((out / "manifest.json").read_text())
    assert written == sorted(["README.md", "manifest.json", *manifest["files"].keys() - {"README.md"}])
    assert "test.jsonl" not in written
    assert "warning: the test split is empty" in result.output
    assert "OpenAI chat fine-tuning rules not met: min_examples 1" in result.output


def test_cli_export_of_an_unknown_dataset_is_one_line_not_a_traceback(client, tmp_path):
    result = CliRunner().invoke(cli, ["export", "--dataset", "nope", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "dataset 'nope' not found" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()
