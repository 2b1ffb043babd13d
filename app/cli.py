"""`winnow`: the same services from the command line."""

from pathlib import Path
from typing import Annotated

import typer

from app.checks.registry import EXCLUDED_FROM_EXPORT
from app.cli_models import models_cli
from app.config import get_settings
from app.db import session_scope
from app.exports import FORMATS as EXPORT_FORMATS
from app.importers import FORMATS as IMPORT_FORMATS
from app.services.imports import OnError
from app.task_types import TaskType

# Help texts name what the registries hold, so a new format or check shows up here by itself.
IMPORT_FORMAT_HELP = "auto, " + ", ".join(sorted(IMPORT_FORMATS))
EXPORT_FORMAT_HELP = (", ".join(sorted(n for n, f in EXPORT_FORMATS.items() if TaskType.generation in f.task_types))
                      + "; preference sets also: "
                      + ", ".join(sorted(n for n, f in EXPORT_FORMATS.items() if f.task_types == {TaskType.preference})))

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
    format: Annotated[str, typer.Option(help=IMPORT_FORMAT_HELP)] = "auto",
    on_error: Annotated[OnError, typer.Option(help="abort: a bad line imports nothing; skip: import the rest")] = OnError.abort,
    create: Annotated[bool, typer.Option(help="create the dataset if it does not exist")] = True,
    task_type: Annotated[str, typer.Option(help="task type of a dataset created here: generation, "
                                                "classification or preference")] = "generation",
    role: Annotated[str, typer.Option(help="role of a dataset created here: training, or reference (an eval or "
                                           "test set to check training data against; never exported)")] = "training",
    check_against: Annotated[list[str] | None, typer.Option(
        help="name of a reference set to check this dataset against (contamination); repeat for several")] = None,
    rated_margin: Annotated[float | None, typer.Option(help="rated format: every pair whose scores differ by at "
                                                            "least this much (default: best vs worst)")] = None,
) -> None:
    """Import pairs from a file into a dataset."""
    import gzip
    import tempfile

    from tqdm import tqdm

    from app.errors import NotFound
    from app.importers import open_source
    from app.schemas.dataset import DatasetCreate
    from app.services import datasets
    from app.services.import_validation import Parallelism
    from app.services.imports import check_rated_margin, run_import

    settings = get_settings()
    _migrated()
    name = file.name[:-3] if file.suffix == ".gz" else file.name
    with tempfile.TemporaryFile() as spool:
        opener = gzip.open if file.suffix == ".gz" else open
        with opener(file, "rb") as raw:
            while chunk := raw.read(1 << 20):
                spool.write(chunk)
        source = open_source(spool, filename=name, format=format, options=check_rated_margin(rated_margin),
                             max_csv_columns=settings.import_max_csv_columns,
                             max_line_length=settings.import_max_line_length)
        with session_scope() as session:
            try:
                target = datasets.get_dataset_by_name(session, dataset)
            except NotFound:
                if not create:
                    raise
                target = datasets.create_dataset(session, DatasetCreate(name=dataset, task_type=task_type, role=role))
            if check_against:
                datasets.add_references(session, target.id, check_against)
            with tqdm(desc="writing", unit=" pairs") as bar:
                outcome = run_import(session, target.id, source, on_error=on_error,
                                     batch_size=settings.import_batch_size,
                                     parallelism=Parallelism.from_settings(settings),
                                     progress=lambda n, *_: bar.update(n - bar.n))
            if outcome.aborted:
                session.rollback()
    for error in outcome.errors[:20]:
        typer.echo(f"line {error.line}: {error.field or '-'}: {error.message}", err=True)
    if outcome.aborted:
        typer.echo(f"nothing imported: {outcome.skipped} bad line(s); fix them or use --on-error skip", err=True)
        raise typer.Exit(1)
    typer.echo(f"imported {outcome.imported}, updated {outcome.updated}, skipped {outcome.skipped} "
               f"(format {outcome.format}) into dataset '{dataset}'")
    across = outcome.already_in_other_datasets
    if across and across["total"]:
        typer.echo(f"{across['total']} new pair(s) repeat an input another dataset holds: "
                   + ", ".join(f"{name} {n}" for name, n in across["by_dataset"].items()))


@cli.command()
def analyze(dataset: Annotated[str, typer.Option(help="dataset name")]) -> None:
    """Analyse a dataset (embed what changed, run every enabled check) with a progress bar."""
    from tqdm import tqdm

    from app.errors import DomainError
    from app.jobs.runner import JobRunner
    from app.services import analysis, datasets, jobs

    _migrated()
    runner = JobRunner()
    try:
        with session_scope() as session:
            target = datasets.get_dataset_by_name(session, dataset)
            job = analysis.start_analysis(session, target.id, run_by=runner.owner)
    except DomainError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    with tqdm(desc="analysing", unit=" texts") as bar:
        def report(done=None, total=None, message=None):
            if total is not None and total != bar.total:
                bar.reset(total=total)
            if done is not None:
                bar.update(done - bar.n)
            if message:
                bar.set_postfix_str(message[:60])

        try:
            runner.run_in_foreground(job.id, report)
        except KeyboardInterrupt:  # Ctrl-C: the job is recorded as cancelled, its findings untouched
            bar.close()
            typer.echo("analysis cancelled; the previous findings are unchanged", err=True)
            raise typer.Exit(130) from None
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

    if not get_settings().auth_enabled and host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"WINNOW_AUTH=off is only allowed on 127.0.0.1, not on {host}", err=True)
        raise typer.Exit(2)

    # Forwarded headers (X-Forwarded-For/-Proto) rewrite the client's address, which the login throttle
    # counts by: trust them only from the proxies named in WINNOW_TRUSTED_PROXIES (uvicorn would trust 127.0.0.1).
    proxies = [p.strip() for p in get_settings().trusted_proxies.split(",") if p.strip()]
    uvicorn.run("app.main:app", host=host, port=port, reload=reload, proxy_headers=bool(proxies),
                forwarded_allow_ips=proxies or None)


@cli.command("export")
def export_dataset(
    dataset: Annotated[str, typer.Option(help="dataset name")],
    out: Annotated[Path, typer.Option(file_okay=False, help="folder to copy the export's files into")],
    format: Annotated[str, typer.Option(help=EXPORT_FORMAT_HELP)] = "openai_chat",
    splits: Annotated[str, typer.Option(help="train,validation,test ratios")] = "0.8,0.1,0.1",
    seed: int = 42,
    include_status: Annotated[list[str] | None, typer.Option(help="repeat for several; default accepted+pending")] = None,
    exclude_check: Annotated[list[str] | None, typer.Option(
        help=f"repeat for several; default {', '.join(EXCLUDED_FROM_EXPORT)}")] = None,
    dedupe: Annotated[str, typer.Option(help="keep_one or keep_all")] = "keep_one",
    epochs: Annotated[int, typer.Option(help="epochs for the training-token estimate")] = 3,
    max_examples: Annotated[int | None, typer.Option(help="a budget: keep at most this many clean pairs")] = None,
    selection: Annotated[str, typer.Option(help="how a budget picks: diverse (cover the embedding space) or random")] = "diverse",
) -> None:
    """Export leakage-free train/validation/test JSONL splits, manifest.json and a dataset card."""
    import shutil

    from pydantic import ValidationError

    from app.errors import DomainError
    from app.exports.files import ZIPPED_FILES
    from app.schemas.export import ExportParams
    from app.services import datasets
    from app.services.exports import create_export, export_folder

    settings = get_settings()
    _migrated()
    try:
        ratios = dict(zip(("train", "validation", "test"), (float(x) for x in splits.split(",")), strict=True))
        fields = {"format": format, "splits": ratios, "seed": seed, "dedupe": dedupe, "epochs": epochs,
                  "max_examples": max_examples, "selection": selection}
        if include_status:
            fields["include_status"] = include_status
        if exclude_check is not None:
            fields["exclude_checks"] = [c for c in exclude_check if c]
        params = ExportParams(**fields)
    except (ValueError, ValidationError) as exc:
        typer.echo(f"invalid options: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        with session_scope() as session:
            target = datasets.get_dataset_by_name(session, dataset)
            export = create_export(session, target.id, params, settings)
            folder = export_folder(settings, export)
    except DomainError as exc:  # an unknown dataset, a reference set, an empty selection: one line, not a traceback
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    out.mkdir(parents=True, exist_ok=True)
    for name in ZIPPED_FILES:
        if (folder / name).exists():
            shutil.copy2(folder / name, out / name)
        else:  # an empty split has no file: none left over from an earlier export into this folder either
            (out / name).unlink(missing_ok=True)
    manifest = export.manifest
    counts = manifest["counts"]["splits"]
    leakage = manifest["leakage"]
    typer.echo(f"export {export.id}: " + ", ".join(f"{s} {c['total']}" for s, c in counts.items())
               + f"; leakage check {'passed' if leakage['passed'] else 'FAILED'}; files in {out}")
    for warning in manifest.get("warnings") or []:
        typer.echo(f"warning: {warning}", err=True)
    checks = manifest.get("format_checks")
    if checks and not checks["passed"]:
        typer.echo(f"{checks['rules']} rules not met: " + ", ".join(
            f"{rule} {n}" for rule, n in checks["violations_by_rule"].items()) + " (see manifest.json)", err=True)
    picked = export.manifest.get("selection")
    if picked and picked.get("coverage"):
        cover = picked["coverage"]
        typer.echo(f"budget: {picked['selected']} of {picked['candidates']} clean pairs ({picked['method_used']}); "
                   f"distance to the nearest picked pair: mean {cover['mean_distance_to_nearest_selected']}, "
                   f"worst {cover['max_distance_to_nearest_selected']}")


users_cli = typer.Typer(help="User accounts (admin, reviewer).", no_args_is_help=True)
tokens_cli = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
cli.add_typer(tokens_cli, name="tokens")
cli.add_typer(models_cli, name="models")


def _migrated() -> None:
    from app.migrate import upgrade

    upgrade(get_settings().database_url)


def _report_domain_errors(command):
    """Show a domain error (user exists, not found, bad role) as one line and exit 1, not a traceback."""
    import functools

    from app.errors import DomainError

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DomainError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from exc

    return run


def _ask_password() -> str:
    return typer.prompt("password (10+ characters)", hide_input=True, confirmation_prompt=True)


@users_cli.command("create")
@_report_domain_errors
def users_create(
    username: Annotated[str, typer.Option(help="login name")],
    role: Annotated[str, typer.Option(help="admin or reviewer")] = "reviewer",
    password: Annotated[bool, typer.Option("--password", help="ask for a password (for signing in with the browser)")] = False,
) -> None:
    """Create a user and print a new API token for it (shown once, never stored)."""
    from app.services import users

    _migrated()
    secret = _ask_password() if password else None
    with session_scope() as session:
        user = users.create_user(session, username, role, secret)
        _, token = users.issue_token(session, user, "created with the user")
    typer.echo(f"created {role} '{username}'" + (" with a password" if secret else " (token only)"), err=True)
    typer.echo("API token (shown once; send it as 'Authorization: Bearer <token>'):", err=True)
    typer.echo(token)


@users_cli.command("list")
@_report_domain_errors
def users_list() -> None:
    """List users."""
    from app.services import users

    _migrated()
    with session_scope() as session:
        for user in users.list_users(session, limit=10_000)[0]:
            typer.echo(f"{user.id}\t{user.username}\t{user.role}\t{'active' if user.is_active else 'disabled'}"
                       f"\t{'password' if user.password_hash else 'token only'}")


@users_cli.command("set-password")
@_report_domain_errors
def users_set_password(username: Annotated[str, typer.Option(help="login name")]) -> None:
    """Set (or replace) a user's password; existing browser sessions of the user end."""
    from app.services import users

    _migrated()
    secret = _ask_password()
    with session_scope() as session:
        users.update_user(session, users.get_user_by_username(session, username).id, password=secret)
    typer.echo(f"password of '{username}' set")


@users_cli.command("disable")
@_report_domain_errors
def users_disable(username: Annotated[str, typer.Option(help="login name")]) -> None:
    """Disable a user: their tokens and sessions stop working at once."""
    from app.services import users

    _migrated()
    with session_scope() as session:
        users.update_user(session, users.get_user_by_username(session, username).id, is_active=False)
    typer.echo(f"'{username}' disabled")


@tokens_cli.command("create")
@_report_domain_errors
def tokens_create(
    username: Annotated[str, typer.Option(help="owner of the token")],
    name: Annotated[str, typer.Option(help="what the token is for")] = "",
) -> None:
    """Print a new API token for a user (shown once, never stored)."""
    from app.services import users

    _migrated()
    with session_scope() as session:
        _, token = users.issue_token(session, users.get_user_by_username(session, username), name)
    typer.echo(token)


@tokens_cli.command("list")
@_report_domain_errors
def tokens_list(username: Annotated[str, typer.Option(help="owner of the tokens")]) -> None:
    """List a user's tokens (ids, names, last use; never the tokens themselves)."""
    from app.services import users

    _migrated()
    with session_scope() as session:
        for token in users.list_tokens(session, users.get_user_by_username(session, username).id):
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            typer.echo(f"{token.id}\t{token.name or '-'}\t{state}\tlast used {used}")


@tokens_cli.command("revoke")
@_report_domain_errors
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="id from `winnow tokens list`")]) -> None:
    """Revoke a token: it stops working at once."""
    from app.models import Role, User
    from app.services import users

    _migrated()
    with session_scope() as session:
        users.revoke_token(session, token_id, User(id=None, username="cli", role=Role.admin))
    typer.echo(f"token {token_id} revoked")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
