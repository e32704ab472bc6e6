# Set-up and entry points. Each target creates .venv when it is missing.
VENV   ?= .venv
PY     := $(VENV)/bin/python
# torch and the torchvision built for it, kept in step (torchvision pins its torch): 0.29.1 pairs
# with 2.14.1. On x86_64 PyPI's 2.14.1 is the CUDA build, which also runs on the CPU.
# Override both together, e.g. `make TORCH="torch==2.9.1 torchvision==0.24.1"`.
TORCH  ?= torch==2.14.1 torchvision==0.29.1
STAMP  := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/tui-trainer

# two pytest-xdist workers (CI has 2 cores), a test file to each: the files' own fixtures are built once
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(PY) bench/throughput.py

clean:
	rm -rf $(VENV) build *.egg-info
