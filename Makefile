# bboxcore — the two commands a newcomer needs are `make demo` and `make test`.
# Both create the virtual environment in .venv and install bboxcore into it first.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export MPLBACKEND := Agg
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export NO_MKDOCS_2_WARNING := 1

.PHONY: demo test bench lint format docs docs-serve clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	touch $(STAMP)

## demo: the main job on the built-in data
demo: $(STAMP)
	$(BIN)/bboxcore demo

## test: lint, unit + property tests, doctests, notebooks, the docs in strict mode
test: $(STAMP)
	$(BIN)/ruff check bboxcore tests
	$(BIN)/ruff format --check bboxcore tests
	$(BIN)/python -m pytest -n 2 --nbmake bboxcore tests notebooks
	$(BIN)/python scripts/build_notebooks.py --check
	$(BIN)/mkdocs build --strict --site-dir build/docs-strict

## bench: the speed table
bench: $(STAMP)
	$(BIN)/bboxcore bench

## docs: the documentation site, into site/ (docs-serve: live on http://127.0.0.1:8000)
docs: $(STAMP)
	$(BIN)/mkdocs build --site-dir site

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

lint: $(STAMP)
	$(BIN)/ruff check bboxcore tests

format: $(STAMP)
	$(BIN)/ruff format bboxcore tests
	$(BIN)/ruff check --fix bboxcore tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis site
