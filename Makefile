# Two commands for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# tractusx-sdk needs Python >= 3.12; the compatibility test drives us with it from its own venv
SDK_VENV ?= .venv-sdk
SDK_PYTHON ?= $(shell for p in python3.12 python3.13 $$(ls -d /root/.pyenv/versions/3.1[2-9]*/bin/python3 2>/dev/null); do $$p -c "import sys; assert sys.version_info >= (3, 12)" >/dev/null 2>&1 && command -v $$p && break; done)
TRACTUSX_SDK ?= tractusx-sdk==0.8.3

.PHONY: demo test lint install sdk browser bench clean

$(BIN)/connector: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/connector

$(SDK_VENV)/.installed:
	@if [ -n "$(SDK_PYTHON)" ]; then \
	  $(SDK_PYTHON) -m venv $(SDK_VENV) && $(SDK_VENV)/bin/pip install -q '$(TRACTUSX_SDK)' && touch $@; \
	else echo "no Python >= 3.12 found: the tractusx-sdk compatibility test will be skipped"; fi

sdk: $(SDK_VENV)/.installed

# the console's browser tests drive Debian's Chromium (Playwright uses it; it never downloads one)
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "installing Chromium for the browser tests (apt-get install -y chromium)"; \
	  apt-get update -q && apt-get install -y -q chromium; \
	fi

demo: install
	$(BIN)/connector demo

lint: install
	$(BIN)/ruff check connector tests bench
	$(BIN)/mypy  # config in pyproject.toml: strict for protocol, policy, store; basic elsewhere

test: install sdk browser lint
	PONTIS_SDK_PYTHON=$${PONTIS_SDK_PYTHON:-$(CURDIR)/$(SDK_VENV)/bin/python} $(BIN)/pytest

bench: install
	$(BIN)/python bench/negotiation.py

clean:
	rm -rf $(VENV) $(SDK_VENV) var
