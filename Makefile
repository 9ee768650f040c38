# The book's tasks. On a fresh machine `make book` and `make test` do all the set-up themselves.
#   make book      build the HTML book into _build/html, 中文版 into _build/html/zh_CN
#   make translations  update the translation catalogs (locales/) after an English change
#   make test      run the whole test suite (lmcore, notebooks with nbval, exercises, built book in Chromium)
#   make lab       open the chapters in JupyterLab
#   make execute   re-execute every chapter notebook in place (after a change to lmcore)
#   make student   write the student edition of every chapter to student/ (or OUT=folder)
#   make sandbox   install bubblewrap (bwrap), which `lmcore grade` runs submissions in
#   make bench     run the benchmarks under bench/
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CHAPTERS ?= chapters/*.ipynb
# A version pin does not choose a build: on Linux, PyPI's torch==2.13.0 is the CUDA build
# (gigabytes of NVIDIA libraries). The CPU-only build carries the local label +cpu and comes
# from PyTorch's CPU wheel index (TORCH_INDEX) or, on machines without internet that keep the
# wheel on disk, from pip's configured find-links folder, which pip searches as well. macOS
# wheels on PyPI are CPU builds and carry no label.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX   ?= https://download.pytorch.org/whl/cpu
ifeq ($(shell uname -s),Darwin)
TORCH_SPEC    ?= torch==$(TORCH_VERSION)
else
TORCH_SPEC    ?= torch==$(TORCH_VERSION)+cpu
endif
OUT      ?= student

.PHONY: book translations test lab execute student bench setup browser sandbox clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@echo ">> creating $(VENV) and installing the book's packages (first use only)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, as a CPU-only build (see TORCH_SPEC above); its own dependencies then come
	# from the ordinary index, so an unreachable TORCH_INDEX costs one look-up, not one each
	$(PY) -m pip install --quiet --no-deps $(TORCH_SPEC) --extra-index-url $(TORCH_INDEX)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[test]'
	# the book's kernel (every chapter's metadata names it), and JupyterLab as learners get
	# it: widget state saved with the notebook, nbgrader's panels off (lmcore/viz/labsetup.py)
	$(PY) -m ipykernel install --sys-prefix --name lmbook --display-name "Python (lmbook)"
	$(PY) -m lmcore.viz.labsetup
	$(PY) -m lmcore.data install
	touch $(STAMP)

# both editions: English in _build/html, Chinese (简体中文) in _build/html/zh_CN (book/editions.py)
book: $(STAMP)
	$(PY) book/editions.py
	@echo ">> The book is ready: open file://$(CURDIR)/_build/html/index.html"
	@echo ">> 中文版: file://$(CURDIR)/_build/html/zh_CN/index.html"

# after an English change: bring the translation catalogs (locales/) in step with the sources
translations: $(STAMP)
	$(PY) book/editions.py --catalogs

# Chromium and its driver come from Debian's packages (needs root, as on CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo ">> installing chromium from Debian's packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The grader runs each submission in a bubblewrap sandbox (Debian's package, needs root).
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  echo ">> installing bubblewrap from Debian's packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }

test: $(STAMP) browser sandbox
	$(PY) -m pytest --nbval --nbval-sanitize-with tests/sanitize.cfg tests $(CHAPTERS)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab chapters/

execute: $(STAMP)
	$(PY) -m lmcore.cli execute $(CHAPTERS)

student: $(STAMP)
	$(PY) -m lmcore.cli student-edition --out $(OUT) $(CHAPTERS)

bench: $(STAMP)
	for f in bench/bench_*.py; do echo ">> $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf _build student .pytest_cache
