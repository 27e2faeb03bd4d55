# Two commands: `make demo` and `make test`. Both create .venv and install the project first.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,sandbox]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/crm-migrate demo

# The notebooks run in a session of their own: nbval's kernels talk to a sandbox that the
# root conftest.py starts for that session only.
test: $(STAMP)
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest notebooks

clean:
	rm -rf $(VENV) build demo-output .pytest_cache
