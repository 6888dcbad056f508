# The README's commands. Everything installs into .venv from nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check

.PHONY: install demo test lint bench eval clean

install: $(VENV)/.installed

# torch is pinned and installed first so nothing pulls a CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	touch $@

demo: install
	$(PY) demo/run_demo.py

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check src tests demo eval bench

bench: install
	$(PY) bench/ingest.py
	$(PY) bench/query.py

eval: install
	$(PY) eval/extraction.py

clean:
	rm -rf $(VENV) data demo/site .pytest_cache
