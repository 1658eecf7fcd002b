# copps — two commands: `make demo` and `make test`.
PORT ?= 8000
HOST ?= 127.0.0.1
VENV ?= .venv
PY := $(VENV)/bin/python
COPPS := $(VENV)/bin/copps
# Prefer the interpreter pyenv/.python-version names, then any python3 >= 3.12.
PYTHON ?= $(shell for p in python3.13 python3.12 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && echo $$p && break; done)

.PHONY: demo test venv lint format messages bench clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "copps needs Python >= 3.12 (python3.12 or newer on PATH)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

venv: $(VENV)/.installed

demo: venv
	$(COPPS) migrate --no-input
	$(COPPS) demo_data
	$(COPPS) redact --warm
	PORT=$(PORT) HOST=$(HOST) COPPS_CROWD_SIMULATE=$${COPPS_CROWD_SIMULATE:-on} $(PY) -m copps.runner

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check copps tests bench
	$(VENV)/bin/ruff format --check copps tests bench
	$(VENV)/bin/mypy copps

format: venv
	$(VENV)/bin/ruff format copps tests bench
	$(VENV)/bin/ruff check --fix copps tests bench

# Refresh the translation catalogues after changing user-facing strings (needs GNU gettext).
messages: venv
	cd copps && ../$(COPPS) makemessages -l nl -l fr -l en -l de --no-obsolete --no-location
	$(PY) -m copps.lib.compilemessages

bench: venv
	$(PY) bench/publish_latency.py
	$(PY) bench/exactly_once.py
	$(PY) bench/fanout.py
	$(PY) bench/ap_fanout.py

clean:
	rm -rf $(VENV) var
