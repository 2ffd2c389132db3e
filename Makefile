# bcba: two commands on a fresh machine (only Python 3.11 + pip assumed):
#   make demo   set up .venv, generate demo data, run the full B-CBA for Barendrecht
#   make test   set up .venv, run the whole test suite
# Both are idempotent: a second run reuses the environment.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bcba-installed
PYTEST_WORKERS ?= 2

.PHONY: setup demo test lab chromium lint clean-venv

setup: $(STAMP) chromium

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name bcba --display-name "bcba (Python 3.11)" >/dev/null
	@touch $(STAMP)

# Headless Chromium renders the PDF and drives the browser tests. Installed from Debian's
# packages when missing (needs root or sudo); nothing is downloaded at run time.
chromium:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || { \
	  echo "Chromium ontbreekt; installeren via apt-get ..."; \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

demo: setup
	$(BIN)/bcba demo

test: setup
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks --no-browser

lint: $(STAMP)
	$(BIN)/ruff check bcba tests
	$(BIN)/ruff format --check bcba tests

clean-venv:
	rm -rf $(VENV)
