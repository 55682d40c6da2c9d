# Two commands for a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install bench clean

$(BIN)/connector: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(BIN)/connector

demo: install
	$(BIN)/connector demo

test: install
	$(BIN)/pytest

bench: install
	$(BIN)/python bench/negotiation.py

clean:
	rm -rf $(VENV) var
