# bboxcore — the two commands a newcomer needs are `make demo` and `make test`.
# Both create the virtual environment in .venv and install bboxcore into it first.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export MPLBACKEND := Agg
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# MathJax, served by the documentation site itself (docs/conf.py copies it): npm package.
MATHJAX_VERSION := 3.2.2
MATHJAX := build/mathjax/node_modules/mathjax/es5/tex-mml-chtml.js

.PHONY: demo test bench lint format docs docs-serve clean venv chromium mutation

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	touch $(STAMP)

## demo: the main job on the built-in data
demo: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(BIN)/bboxcore demo

## test: lint, unit + property tests, doctests, notebooks, the docs site in a real browser
test: $(STAMP) $(MATHJAX) chromium
	$(BIN)/ruff check bboxcore tests
	$(BIN)/ruff format --check bboxcore tests
	$(BIN)/python scripts/build_notebooks.py --check
	$(BIN)/python -m pytest -n 2 --nbmake bboxcore tests notebooks

## bench: the speed table
bench: $(STAMP)
	$(BIN)/bboxcore bench

## docs: the documentation site, into site/ (docs-serve: then on http://127.0.0.1:8000)
docs: $(STAMP) $(MATHJAX)
	$(BIN)/sphinx-build -b html docs site

docs-serve: docs
	$(BIN)/python -m http.server 8000 --bind 127.0.0.1 --directory site

$(MATHJAX):
	command -v npm > /dev/null || (apt-get update -qq && apt-get install -y -qq npm) \
	  || { echo "npm is needed to install MathJax: apt-get install -y npm"; exit 1; }
	npm install --no-save --no-audit --no-fund --prefix build/mathjax mathjax@$(MATHJAX_VERSION)

# The docs' browser test (tests/docs) needs Debian's chromium.
chromium:
	command -v chromium > /dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
	  || { echo "the docs test needs chromium: apt-get install -y chromium (as root)"; exit 1; }

## mutation: mutation testing of the core formula modules, one worker at nice 19 (tens of
## minutes; not part of make test). MODULES="encoding iou" runs only those (scripts/mutation.py)
mutation: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 19 $(BIN)/python scripts/mutation.py $(MODULES)

lint: $(STAMP)
	$(BIN)/ruff check bboxcore tests

format: $(STAMP)
	$(BIN)/ruff format bboxcore tests
	$(BIN)/ruff check --fix bboxcore tests

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis site mutants
