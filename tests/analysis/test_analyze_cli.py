from typer.testing import CliRunner

from app.cli import cli
from app.db import session_scope
from app.services import findings, jobs
from app.services.datasets import get_dataset_by_name
from tests.analysis.helpers import jsonl


def test_winnow_analyze_runs_the_job_and_prints_the_counts(tmp_path):
    pairs = [{"prompt": "What does ls do?", "completion": "lists files"},
             {"prompt": "what does LS do?", "completion": "lists files"},
             {"prompt": "What does cp do?", "completion": "copies files"}]
    source = tmp_path / "pairs.jsonl"
    source.write_text(jsonl(pairs))
    runner = CliRunner()
    assert runner.invoke(cli, ["import", str(source), "--dataset", "cli-ds"]).exit_code == 0
    result = runner.invoke(cli, ["analyze", "--dataset", "cli-ds"])
    assert result.exit_code == 0, result.output
    assert "analysed 3 pairs (3 newly embedded)" in result.output and "exact_duplicate 1" in result.output
    with session_scope() as session:
        dataset = get_dataset_by_name(session, "cli-ds")
        job = jobs.latest_job(session, dataset.id, "analyze")
        assert job.status == "succeeded" and job.owner
        items, total = findings.list_findings(session, dataset.id, check="exact_duplicate")
        assert total == 1 and items[0].details["duplicate_of"] < items[0].example_id

    again = runner.invoke(cli, ["analyze", "--dataset", "cli-ds"])
    assert again.exit_code == 0 and "(0 newly embedded)" in again.output
    missing = runner.invoke(cli, ["analyze", "--dataset", "nope"])
    assert missing.exit_code == 1 and "not found" in missing.output
