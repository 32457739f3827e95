# Two commands a user needs: `make demo` (the main job) and `make test`. Both create .venv when missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch and torchvision are installed first and pinned, so pip does not pick a different build later.
# On a GPU box, override to match your CUDA: make TORCH="torch==2.14.1 torchvision==0.29.1" test
TORCH ?= torch==2.14.1 torchvision==0.29.1
DEMO_OUT ?= demo-out

.PHONY: install demo test lint format clean chromium

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev]' $(TORCH)
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vlmadapt demo --out $(DEMO_OUT)

# The audit page's browser test drives Debian's Chromium through Playwright (never `playwright install`).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium || echo "chromium install failed: the browser test will be skipped"; \
	  else echo "no $(CHROMIUM): the browser test will be skipped (as root: apt-get install -y chromium)"; fi; }

test: $(STAMP) chromium
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy src

format: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
