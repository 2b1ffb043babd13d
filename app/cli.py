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
def serve(host: str = "127.0.0.1", port: int = 8000, reload: bool = False) -> None:
    """Start the web server."""
    import uvicorn

    uvicorn.run("app.main:app", host=host, port=port, reload=reload)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
