"""The command line end to end for a preference set: import (rated, with a margin) then export trl_preference."""

import json

from typer.testing import CliRunner

from app.cli import cli


def test_cli_imports_rated_pairs_and_exports_trl_preference(client, tmp_path):
    source = tmp_path / "rated.jsonl"
    source.write_text("".join(json.dumps({"id": f"r{i}", "prompt": f"Describe the package p{i}",
                                          "completions": [{"text": "short", "score": 1},
                                                          {"text": "a longer description", "score": 8},
                                                          {"text": "a full and long description", "score": 9}]}) + "\n"
                              for i in range(10)))
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(source), "--dataset", "cli-pref", "--task-type", "preference",
                                 "--rated-margin", "5"])
    assert result.exit_code == 0, result.output
    assert "imported 20" in result.output and "format rated" in result.output
    out = tmp_path / "out"
    result = runner.invoke(cli, ["export", "--dataset", "cli-pref", "--format", "trl_preference", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for split in ("train", "validation", "test")
             for line in (out / f"{split}.jsonl").read_text().splitlines()]
    assert len(lines) == 20 and all(set(line) == {"prompt", "chosen", "rejected"} for line in lines)
    assert {line["rejected"] for line in lines} == {"short"}
