"""`winnow`: the same services from the command line."""

from pathlib import Path
from typing import Annotated

import typer

from app.config import get_settings
from app.db import session_scope
from app.services.imports import OnError

cli = typer.Typer(help="Winnow: curate supervised fine-tuning pairs.", no_args_is_help=True)


@cli.command()
def migrate(revision: str = "head") -> None:
    """Apply the database migrations."""
    from app.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@cli.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL, JSON array or CSV (.gz too)")],
    dataset: Annotated[str, typer.Option(help="dataset name")],
    format: Annotated[str, typer.Option(help="auto, prompt_completion, messages, alpaca, sharegpt, input_output")] = "auto",
    on_error: Annotated[OnError, typer.Option(help="abort: a bad line imports nothing; skip: import the rest")] = OnError.abort,
    create: Annotated[bool, typer.Option(help="create the dataset if it does not exist")] = True,
    task_type: Annotated[str, typer.Option(help="task type of a dataset created here")] = "generation",
) -> None:
    """Import pairs from a file into a dataset."""
    import gzip
    import tempfile

    from tqdm import tqdm

    from app.errors import NotFound
    from app.importers import open_source
    from app.schemas.dataset import DatasetCreate
    from app.services import datasets
    from app.services.imports import run_import

    settings = get_settings()
    from app.migrate import upgrade

    upgrade(settings.database_url)
    name = file.name[:-3] if file.suffix == ".gz" else file.name
    with tempfile.TemporaryFile() as spool:
        opener = gzip.open if file.suffix == ".gz" else open
        with opener(file, "rb") as raw:
            while chunk := raw.read(1 << 20):
                spool.write(chunk)
        source = open_source(spool, filename=name, format=format)
        with session_scope() as session:
            try:
                target = datasets.get_dataset_by_name(session, dataset)
            except NotFound:
                if not create:
                    raise
                target = datasets.create_dataset(session, DatasetCreate(name=dataset, task_type=task_type))
            with tqdm(desc="writing", unit=" pairs") as bar:
                outcome = run_import(session, target.id, source, on_error=on_error,
                                     batch_size=settings.import_batch_size,
                                     progress=lambda n: bar.update(n - bar.n))
            if outcome.aborted:
                session.rollback()
    for error in outcome.errors[:20]:
        typer.echo(f"line {error.line}: {error.field or '-'}: {error.message}", err=True)
    if outcome.aborted:
        typer.echo(f"nothing imported: {outcome.skipped} bad line(s); fix them or use --on-error skip", err=True)
        raise typer.Exit(1)
    typer.echo(f"imported {outcome.imported}, updated {outcome.updated}, skipped {outcome.skipped} "
               f"(format {outcome.format}) into dataset '{dataset}'")


@cli.command()
def analyze(dataset: Annotated[str, typer.Option(help="dataset name")]) -> None:
    """Analyse a dataset (embed what changed, run every enabled check) with a progress bar."""
    from tqdm import tqdm

    from app.errors import DomainError
    from app.jobs.runner import JobRunner
    from app.migrate import upgrade
    from app.services import analysis, datasets, jobs

    upgrade(get_settings().database_url)
    runner = JobRunner()
    try:
        with session_scope() as session:
            target = datasets.get_dataset_by_name(session, dataset)
            job = analysis.start_analysis(session, target.id, run_by=runner.owner)
    except DomainError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    with tqdm(desc="analysing", unit=" texts") as bar:
        def report(done, total, message):
            if total is not None and total != bar.total:
                bar.reset(total=total)
            if done is not None:
                bar.update(done - bar.n)
            if message:
                bar.set_postfix_str(message[:60])

        runner.run_in_foreground(job.id, report)
    with session_scope() as session:
        finished = jobs.get_job(session, job.id)
    if finished.status != "succeeded":
        typer.echo(f"analysis failed: {finished.message}", err=True)
        raise typer.Exit(1)
    result = finished.result or {}
    counts = ", ".join(f"{check} {n}" for check, n in sorted(result.get("findings", {}).items())) or "none"
    typer.echo(f"analysed {result.get('examples', 0)} pairs ({result.get('embedded', 0)} newly embedded) in "
               f"{result.get('seconds', {}).get('total', 0):.1f} s; findings: {counts}")


@cli.command()
def serve(host: str = "127.0.0.1", port: int = 8000, reload: bool = False) -> None:
    """Start the web server."""
    import uvicorn

    uvicorn.run("app.main:app", host=host, port=port, reload=reload)


@cli.command("export")
def export_dataset(
    dataset: Annotated[str, typer.Option(help="dataset name")],
    out: Annotated[Path, typer.Option(file_okay=False, help="folder to copy the export's files into")],
    format: Annotated[str, typer.Option(help="openai_chat, trl_prompt_completion, trl_messages, alpaca, sharegpt")] = "openai_chat",
    splits: Annotated[str, typer.Option(help="train,validation,test ratios")] = "0.8,0.1,0.1",
    seed: int = 42,
    include_status: Annotated[list[str] | None, typer.Option(help="repeat for several; default accepted+pending")] = None,
    exclude_check: Annotated[list[str] | None, typer.Option(help="repeat for several; default format, conflicting_output, label_issue")] = None,
    dedupe: Annotated[str, typer.Option(help="keep_one or keep_all")] = "keep_one",
    epochs: Annotated[int, typer.Option(help="epochs for the training-token estimate")] = 3,
) -> None:
    """Export leakage-free train/validation/test JSONL splits, manifest.json and a dataset card."""
    import shutil

    from pydantic import ValidationError

    from app.exports.files import ZIPPED_FILES
    from app.schemas.export import ExportParams
    from app.services import datasets
    from app.services.exports import create_export, export_folder

    settings = get_settings()
    from app.migrate import upgrade

    upgrade(settings.database_url)
    try:
        ratios = dict(zip(("train", "validation", "test"), (float(x) for x in splits.split(",")), strict=True))
        fields = {"format": format, "splits": ratios, "seed": seed, "dedupe": dedupe, "epochs": epochs}
        if include_status:
            fields["include_status"] = include_status
        if exclude_check is not None:
            fields["exclude_checks"] = [c for c in exclude_check if c]
        params = ExportParams(**fields)
    except (ValueError, ValidationError) as exc:
        typer.echo(f"invalid options: {exc}", err=True)
        raise typer.Exit(2) from exc
    with session_scope() as session:
        target = datasets.get_dataset_by_name(session, dataset)
        export = create_export(session, target.id, params, settings)
        folder = export_folder(settings, export)
    out.mkdir(parents=True, exist_ok=True)
    for name in ZIPPED_FILES:
        shutil.copy2(folder / name, out / name)
    counts = export.manifest["counts"]["splits"]
    leakage = export.manifest["leakage"]
    typer.echo(f"export {export.id}: " + ", ".join(f"{s} {c['total']}" for s, c in counts.items())
               + f"; leakage check {'passed' if leakage['passed'] else 'FAILED'}; files in {out}")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
