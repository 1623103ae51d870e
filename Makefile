# Two commands set everything up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test docs fuzz bench browser sepsis clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installed once per change of pyproject.toml.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	# tests/test_distances.py checks journeysim's fidelity measures against log-distance-measures (Apache-2.0).
	# It pins pandas<3 and journeysim uses pandas 3, so it is installed without its dependencies: the
	# functions the test calls run under pandas 3, and scipy and numpy are already here.
	$(BIN)/python -m pip install --quiet --no-deps log-distance-measures==2.2.0 jellyfish==1.3.0 pulp==3.3.2
	touch $@

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

demo: $(VENV)/.installed
	@mkdir -p reports
	$(BIN)/journeysim run scenarios/ami.toml --report reports/ami.html

# The browser test drives Debian's chromium: installed here when missing (apt needs root or sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core \
	  >/dev/null; } || echo "warning: could not install chromium; the browser test needs it"

# The type check and the linter run first and fail the build (settings in pyproject.toml). pytest runs on
# every core (pytest-xdist; tests/conftest.py runs each test file on one worker,
# the notebooks and the site together, so an expensive shared fixture is computed once);
# PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= auto
test: $(VENV)/.installed-test browser
	$(BIN)/mypy
	$(BIN)/ruff check src tests
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope

# The documentation site, into site/ (mkdocs.yml; warnings are errors). It runs the notebooks first, so the
# tutorials show this code's outputs (docs/run_notebooks.py; about a minute). `make test` builds it too
# (tests/test_docs_site.py), from the notebooks tests/test_notebooks.py ran. Open site/index.html (pages and links
# work from disk; search needs a server: `python -m http.server -d site`), or serve it with `.venv/bin/mkdocs serve`
# (which runs the notebooks again at each rebuild).
docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# 1,000 random scenarios and 1,000 corrupted files, where `make test` runs 25 of each (tests/test_fuzz.py; about 20 minutes).
fuzz: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/test_fuzz.py -q

# The sepsis figures of docs/discovery.md from the real log (../shared/data/sepsis.csv, or SEPSIS_LOG=path):
# writes scenarios/sepsis_discovered.toml and docs/sepsis/fidelity.{txt,json,md} (about 15 s).
sepsis: $(VENV)/.installed
	$(BIN)/python docs/sepsis/reproduce.py $(if $(SEPSIS_LOG),--log $(SEPSIS_LOG))

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache reports site .cache
