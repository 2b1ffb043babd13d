# Two commands: `make run` installs everything into .venv and starts the server; `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Optional extras to install besides the tests' (CI adds `ray`: EXTRAS=test,ray).
EXTRAS ?= test

.PHONY: install run test test-sqlite test-postgres sample bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: pip takes the CPU build from the local wheel store
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

# The static embedder is distilled once into <data dir>/models (~22 s on an idle machine; a no-op afterwards).
install: $(STAMP)
	$(VENV)/bin/winnow models distill

run: install
	$(VENV)/bin/winnow migrate
	$(VENV)/bin/winnow serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

test-sqlite: install
	DATABASE_URL= $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install
	DATABASE_URL=$${PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(PY) -m pytest $(PYTEST_ARGS)

sample: install
	$(VENV)/bin/winnow import examples/debian_sections.jsonl.gz --dataset debian-sections --task-type classification

clean:
	rm -rf $(VENV) data
