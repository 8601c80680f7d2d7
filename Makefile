# The two commands of the quick start: `make run` and `make test`.
# Both create .venv and install what is needed on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) main.py

# The browser tests (tests/web/test_browser.py) drive Debian's own Chromium through Playwright
# (Playwright's browser downloads are not used). When there is none and we are root, it is
# installed with apt-get; if that cannot be done, those tests are skipped and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (apt-get) for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	    echo "chromium could not be installed: the browser tests will be skipped"; \
	  else \
	    echo "no chromium (install it as root: apt-get install chromium): the browser tests will be skipped"; \
	  fi; }

# Lint (ruff), the layering contracts (import-linter, see pyproject.toml), then the tests.
# `make test TEST_WORKERS=2` runs them on two processes (pytest-xdist; a test file stays on one
# worker, the longest files start first: see tests/conftest.py). Off by default: on a machine
# loaded by other work the SIGKILL test's 60 s deadlines were missed on two workers and not in
# one process. PYTHONDONTWRITEBYTECODE is emptied for the run: with it set, pytest cannot keep
# the modules it rewrites (hypothesis and schemathesis whole, the tests) and every run compiles
# them again, and each subprocess a test starts compiles the project again.
TEST_WORKERS ?= 0
test: $(STAMP) browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench: $(STAMP)
	$(PY) bench/intake_bench.py

clean:
	rm -rf $(VENV)
