# vp-stats: one target per product. `make reproduce` runs the main job, `make test` the whole suite.
# Both create the virtual environment .venv on first use: `make reproduce` with what the reproduction
# needs (the package, the notebook runner and the file-format readers; no model runtime, so no
# llama-cpp-python compile), `make test`, `make lab` and the model targets with everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# A local mirror of the upstream data beside the project (as in CI) is used instead of the
# download cache; set VP_DATA_DIR yourself to point anywhere else.
SHARED_MIRROR := $(abspath ../shared/data/valueportrait)
export VP_DATA_DIR ?= $(if $(wildcard $(SHARED_MIRROR)/SHA256SUMS),$(SHARED_MIRROR),)
export MPLBACKEND := Agg
PYTEST_ARGS ?=
# `make lab PORT=8890 IP=0.0.0.0`: where JupyterLab listens
PORT ?= 8888
IP ?= 127.0.0.1

.PHONY: setup reproduce test lint lab docs r-deps local-model-full personas-full hvae-full bench clean

## what the reproduction needs: the package, the notebook runner, the file-format readers
$(VENV)/.reproduce-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[notebooks,formats]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

## everything: the model runtimes (llama-cpp-python compiles, minutes), IRT, tests, lint
$(VENV)/.installed: $(VENV)/.reproduce-installed
	$(PY) -m pip install --quiet -e ".[llm,notebooks,irt,formats,dev]"
	touch $@

setup: $(VENV)/.installed

## main job: validation, LLM value scores and the figures of the notebooks (runs no model)
reproduce: $(VENV)/.reproduce-installed
	$(VENV)/bin/vp-stats reproduce --out data/processed

## R psych, GPArotation, lavaan and psychTools (its datasets, e.g. bfi) are the independent
## references of the reliability, factor-analysis and human-reference tests (Debian packages, seconds)
R_PACKAGES := r-base-core r-cran-psych r-cran-gparotation r-cran-lavaan r-cran-psychtools
r-deps:
	@missing=$$(for p in $(R_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
	    || echo "r-deps: could not install $$missing; the R reference tests that need them will be skipped"; \
	  else echo "r-deps: $$missing not installed (needs root and apt); the R reference tests that need them will be skipped"; fi; \
	fi

## the whole test suite (unit, reference, bad-input, CLI, notebooks, real local model), then the docs
## build with the notebooks the notebook tests executed (VP_DOCS_EXECUTE=cached: none is executed
## again; one without an executed copy is a build error). The docs are built even when pytest failed
## (their own errors show in the same run); either failure fails `make test`.
test: setup r-deps lint $(VENV)/.docs-installed
	status=0; \
	$(PY) -m pytest -n 2 --dist loadfile $(PYTEST_ARGS) || status=$$?; \
	$(MAKE) --no-print-directory docs VP_DOCS_EXECUTE=cached || status=$$?; \
	exit $$status

## ruff (lint and format) and the layer rule (import-linter contracts in pyproject.toml)
lint: setup
	$(VENV)/bin/ruff check vp_stats tests benchmarks validation
	$(VENV)/bin/ruff format --check --quiet vp_stats tests benchmarks validation
	$(VENV)/bin/lint-imports --no-cache

## JupyterLab on notebooks/; its kernels get matplotlib's inline backend (not the Agg exported above)
lab: setup
	env -u MPLBACKEND $(VENV)/bin/jupyter lab --allow-root --ip=$(IP) --port=$(PORT) notebooks

$(VENV)/.docs-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[docs]"
	touch $@

## the docs site in docs/_build/html (Sphinx, numpydoc, myst-nb); a warning is an error. Generated at
## every build: the API reference, the command-line reference (docs/_ext/cli_reference.py) and the
## notebook gallery (docs/_ext/notebook_gallery.py: the executed copies in docs/_build/.notebook_cache,
## which the notebook tests fill, or the ones `make reproduce` wrote, else each notebook that runs
## no language model executed once and cached until it changes; `make docs VP_DOCS_EXECUTE=all`
## executes the model notebooks 03 and 04 too). Then docs/_ext/site_check.py checks the built site:
## a page per command, every notebook page with as many images as its executed copy has.
docs: $(VENV)/.docs-installed
	rm -rf docs/api/generated
	$(VENV)/bin/sphinx-build -E -W --keep-going -q -b html docs docs/_build/html

bench: setup
	$(PY) benchmarks/run_all.py

## the embedded SmolLM2 model on all 520 items x 6 variants, logprobs mode (resumable), then scored
local-model-full: setup
	$(VENV)/bin/vp-stats run-llm --backend local --mode logprobs --out data/processed/local_model
	cp data/processed/local_model/answers.csv data/processed/local_model_answers.csv
	$(VENV)/bin/vp-stats score --answers data/processed/local_model_answers.csv --out data/processed/local_model

## the paper's 25 single-attribute personas + the plain model on all 520 items (v1, logprobs; resumable)
personas-full: setup
	$(VENV)/bin/vp-stats personas run --grid paper --out data/processed/personas

## HVAE: 4 target SVOs x 10 seeded runs x with/without the goal step (grammar mode; resumable)
hvae-full: setup
	$(VENV)/bin/vp-stats svo run --runs 10 --out data/processed/hvae

clean:
	rm -rf data/processed/* reports/figures/*.png .pytest_cache
