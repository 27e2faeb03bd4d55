# Two commands: `make demo` and `make test`. Both create .venv and install the project first.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Apache Airflow, for a dental group's many practices (airflow/), in a virtualenv of its own
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed

.PHONY: demo test install airflow clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,sandbox]'
	touch $(STAMP)

airflow: $(AIRFLOW_STAMP)

$(AIRFLOW_STAMP): airflow/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet -r airflow/requirements.txt -e .
	touch $(AIRFLOW_STAMP)

demo: $(STAMP)
	$(BIN)/crm-migrate demo

# The tests run on two workers (most of their time is spent waiting on sandboxes, kernels and
# subprocesses), each module on one worker (root conftest.py). The notebooks run in a session of
# their own: nbval's kernels talk to a sandbox that the root conftest.py starts for that session.
test: $(STAMP) $(AIRFLOW_STAMP)
	$(BIN)/python -m pytest -n 2 tests
	$(BIN)/python -m pytest notebooks

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) build demo-output .pytest_cache
