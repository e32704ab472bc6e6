# Set-up and entry points. Each target creates .venv when it is missing.
VENV   ?= .venv
PY     := $(VENV)/bin/python
# torch 2.13.0: on a CUDA box PyPI gives its CUDA build; override with e.g. `make TORCH=torch==2.14.1`.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tui-trainer

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/throughput.py

clean:
	rm -rf $(VENV) build *.egg-info
