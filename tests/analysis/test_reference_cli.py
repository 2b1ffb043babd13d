"""The CLI path of reference sets and budgets: import an eval set as a reference, check a training set against
it, analyse, and export with a budget."""

import json

from typer.testing import CliRunner

from app.cli import cli
from tests.analysis.helpers import jsonl


def test_reference_set_contamination_and_budget_from_the_cli(tmp_path):
    evalset = tmp_path / "eval.jsonl"
    evalset.write_text(jsonl([{"prompt": "What does ls do?", "completion": "lists files"}]))
    train = tmp_path / "train.jsonl"
    train.write_text(jsonl([{"prompt": "what does LS do?", "completion": "lists files"}]
                           + [{"prompt": f"What does tool{i} do?", "completion": f"thing {i}"} for i in range(30)]))
    runner = CliRunner()
    done = runner.invoke(cli, ["import", str(evalset), "--dataset", "eval", "--role", "reference"])
    assert done.exit_code == 0, done.output
    done = runner.invoke(cli, ["import", str(train), "--dataset", "train", "--check-against", "eval"])
    assert done.exit_code == 0, done.output
    assert "1 new pair(s) repeat an input another dataset holds: eval 1" in done.output
    analysed = runner.invoke(cli, ["analyze", "--dataset", "train"])
    assert analysed.exit_code == 0 and "contamination 1" in analysed.output, analysed.output
    refused = runner.invoke(cli, ["export", "--dataset", "eval", "--out", str(tmp_path / "x")])
    assert refused.exit_code == 1 and "reference set" in refused.output
    out = tmp_path / "budget"
    exported = runner.invoke(cli, ["export", "--dataset", "train", "--out", str(out), "--max-examples", "10",
                                   "--splits", "1,0,0"])
    assert exported.exit_code == 0, exported.output
    assert "budget: 10 of 30 clean pairs (diverse)" in exported.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["total"] == 10 and manifest["excluded"]["by_check"] == {"contamination": 1}
