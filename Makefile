# Two commands: `make run` serves the console with demo data, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Message catalogues are compiled by the build (pure Python: no gettext needed).
messages: install
	DEBUG=1 $(BIN)/python manage.py compile_catalogues  # a build step: signs nothing, needs no SECRET_KEY

# Development: DEBUG=1 for every step (without it the settings demand a SECRET_KEY).
run: export DEBUG ?= 1
run: messages
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py create_demo_roles
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m backup_console.procfile start -f Procfile

test: messages
	$(BIN)/python tests/run.py $(ARGS)

# The code's shape: ruff's rules and the import contracts (.importlinter).
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var
