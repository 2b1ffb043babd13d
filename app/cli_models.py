"""`winnow models`: the embedding models, prepared ahead of the first analysis."""

import time

import typer

models_cli = typer.Typer(help="Embedding models: distil the static model, list what is available.",
                         no_args_is_help=True)


@models_cli.command("distill")
def distill() -> None:
    """Distil the static model from the packaged MiniLM into the models directory (once; offline)."""
    from app.config import get_settings
    from app.embeddings import STATIC
    from app.embeddings.static import distil

    directory = get_settings().models_dir / STATIC
    started = time.perf_counter()
    if distil(directory):
        typer.echo(f"{STATIC} distilled into {directory} in {time.perf_counter() - started:.0f} s")
    else:
        typer.echo(f"{STATIC} already in {directory}")


@models_cli.command("list")
def list_models() -> None:
    """The embedding models, which one is the default, and whether the static one is distilled."""
    from app.config import get_settings
    from app.embeddings import AVAILABLE, STATIC
    from app.embeddings.static import is_distilled

    settings = get_settings()
    for name in AVAILABLE:
        notes = []
        if name == settings.embedding_model:
            notes.append("selected (WINNOW_EMBEDDING_MODEL)")
        if name == STATIC:
            directory = settings.models_dir / STATIC
            notes.append(f"distilled in {directory}" if is_distilled(directory) else
                         "not distilled yet: `winnow models distill`, or at the first analysis")
        typer.echo(f"{name}" + (f"  ({'; '.join(notes)})" if notes else ""))
