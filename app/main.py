"""create_app(): settings, migrations, routers, static files and error handlers."""

import asyncio
import logging
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import api, auth, security, web
from app.api import errors
from app.config import Settings, get_settings, use_settings
from app.db import engine_for
from app.maintenance import remove_abandoned_staging
from app.services.import_validation import warm_up_worker
from app.uploads import BodyLimitMiddleware
from app.web import login
from app.workers import start_workers, stop_workers

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("winnow")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for these settings (else the environment's). They become the process's settings, so the
    engine, the request's session, the job runner and the services all use them."""
    settings = use_settings(settings or get_settings())
    engine = engine_for(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        use_settings(settings)  # another app made meanwhile (tests) may have taken the process's settings
        if settings.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        if settings.migrate_on_start:
            from app.migrate import upgrade

            upgrade(settings.database_url)
        auth.on_startup(settings)
        await asyncio.to_thread(remove_abandoned_staging, settings.data_dir)
        from app.jobs.runner import JobRunner

        job_runner = JobRunner()  # marks jobs left running by a dead process as failed, then polls
        job_runner.start()
        search_indexer = None
        if settings.is_sqlite:
            from app.services.search_index import SearchIndexer

            search_indexer = SearchIndexer(engine)  # indexes new rows for the search, in the background
            search_indexer.start()
        # Started with the server (once per process), so the first large import does not wait for them.
        await asyncio.to_thread(start_workers, settings.import_workers, warm_up_worker)
        yield
        job_runner.stop(wait=False)
        if search_indexer is not None:
            await asyncio.to_thread(search_indexer.stop)
        await asyncio.to_thread(stop_workers)
        # Close the pooled connections: on SQLite the last close checkpoints the WAL and removes it,
        # so a stopped server leaves nothing for the next start to recover.
        engine.dispose()

    app = FastAPI(
        title="Winnow",
        version="0.1.0",
        description="Curate supervised fine-tuning pairs: import, analyse, review, export leakage-free splits.",
        lifespan=lifespan,
    )
    app.dependency_overrides[get_settings] = lambda: settings
    app.add_middleware(BodyLimitMiddleware, upload_limit=settings.max_body_bytes,
                       request_limit=settings.max_request_bytes)
    security.install(app)  # outermost: headers on every response, 413s and errors included
    errors.install(app)
    auth.install(app)
    app.include_router(api.router)
    app.include_router(web.router)
    app.include_router(login.router)  # /login and /logout: the only pages without a session
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    return app


app = create_app()
