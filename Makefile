# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: install install-test run test lint format css migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP)

run: install
	$(BIN)/python manage.py run

migrate: install
	$(BIN)/python manage.py migrate

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Style, types and migrations; `.ci/run` runs it before the tests.
# mypy loads the settings (django-stubs): unreachable database and Redis URLs keep them from
# starting the embedded servers, which type checking does not need.
LINT_ENV := DATABASE_URL=postgres://lint@127.0.0.1:1/lint REDIS_URL=redis://127.0.0.1:1/0

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(LINT_ENV) $(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

# Rewrite the code in the house style (what `make lint` checks).
format: install-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Rebuild static/css/*.css from the templates (needs Node; the built CSS is committed).
css:
	npm ci --no-audit --no-fund
	npm run build:css

clean:
	rm -rf $(VENV) .run staticfiles
