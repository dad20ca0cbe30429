# docuocr: `make serve` and `make test` work on a fresh Debian machine with Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages: Tesseract language data for the Hangul route, CJK fonts for rendered test pages,
# LibreOffice for DOCX/PPTX/XLSX.
APT_PACKAGES := tesseract-ocr-kor tesseract-ocr-chi-tra tesseract-ocr-chi-sim tesseract-ocr-jpn \
	tesseract-ocr-osd tesseract-ocr-script-hang fonts-nanum fonts-noto-cjk \
	libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui

.PHONY: install apt serve test lint format bench clean

install: apt $(VENV)/.installed

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
	$(BIN)/pip install -q -e '.[dev]'
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

bench: install
	$(BIN)/docuocr bench --help

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
