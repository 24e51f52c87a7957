# Two commands set everything up on a fresh Debian machine with Python 3.11 and Java 17:
#   make run    install, build the .mar from the committed weights, start TorchServe + gateway
#   make test   install and run every test (lint, unit, integration, browser)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# One virtualenv, three layers of packages: runtime (make run), + training (make train, lm, eval),
# + tests (make test, lint). Each stamp records that its layer is installed.
RUNTIME_STAMP := $(VENV)/.runtime
TRAIN_STAMP := $(VENV)/.train
TEST_STAMP := $(VENV)/.test
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

MODEL_NAME := crnn_ocr
MAR := model-store/$(MODEL_NAME).mar
WEIGHTS := model/weights/crnn.pt
DETECTOR_WEIGHTS := model/weights/detector.pt
LM := model/weights/lm.npz
GATEWAY_PORT ?= 5000
GATEWAY_URL := http://127.0.0.1:$(GATEWAY_PORT)
READY_TIMEOUT_S ?= 180

# Debian packages: Java for TorchServe; fonts for rendering training and test lines; Chromium for
# the browser tests.
JAVA_PACKAGES := openjdk-17-jre-headless
# Song, Hei, Kai and handwriting-like CJK faces; Latin serif (among them the book faces EB Garamond,
# with old-style figures, and Linux Libertine), sans, mono, condensed and narrow faces.
FONT_PACKAGES := fonts-noto-cjk fonts-noto-cjk-extra fonts-wqy-microhei fonts-wqy-zenhei \
	fonts-arphic-ukai fonts-arphic-uming fonts-arphic-gbsn00lp fonts-arphic-gkai00mp fonts-lxgw-wenkai \
	fonts-dejavu-core fonts-dejavu-extra fonts-liberation fonts-liberation2 fonts-urw-base35 \
	fonts-freefont-ttf fonts-roboto fonts-croscore fonts-crosextra-carlito fonts-inconsolata \
	fonts-ebgaramond fonts-linuxlibertine
BROWSER_PACKAGES := chromium chromium-driver
# Prometheus and promtool: the tests check the alert rules and scrape the live service with them.
MONITORING_PACKAGES := prometheus
# kubectl builds the Kubernetes manifests (kustomize) for the tests to validate: Debian's, unless the
# machine has one already (another kubectl package would conflict with it).
KUBECTL_PACKAGES := kubernetes-client

.PHONY: run stop test lint soak archive train train-detector lm documents plates eval bench bench-accuracy bench-pages java java-package fonts browser monitoring kubectl-package help

help:
	@echo "make run | stop | test | lint | soak | archive | train | train-detector | lm | documents | plates | eval | bench | bench-accuracy | bench-pages"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME_STAMP): requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(TRAIN_STAMP): requirements-train.txt $(RUNTIME_STAMP)
	$(VENV)/bin/pip install -q -r requirements-train.txt
	touch $@

$(TEST_STAMP): requirements-test.txt $(TRAIN_STAMP)
	$(VENV)/bin/pip install -q -r requirements-test.txt
	touch $@

# Installs only what is missing, so repeated runs cost nothing. A package counts as present only when
# installed: one removed with its config files left behind still answers `dpkg -s`.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q '^install ok installed' \
		|| echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

java:
	@if ! java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then \
		$(MAKE) --no-print-directory java-package; fi

java-package:
	$(call apt_install,$(JAVA_PACKAGES))

fonts:
	$(call apt_install,$(FONT_PACKAGES))

browser:
	$(call apt_install,$(BROWSER_PACKAGES))

monitoring:
	$(call apt_install,$(MONITORING_PACKAGES))
	@command -v kubectl >/dev/null || $(MAKE) --no-print-directory kubectl-package

kubectl-package:
	$(call apt_install,$(KUBECTL_PACKAGES))

$(MAR): $(RUNTIME_STAMP) $(WEIGHTS) $(DETECTOR_WEIGHTS) $(LM) handler/ocr_handler.py model/__init__.py \
		$(shell find model/inference -name '*.py') model/training/export.py model/training/checkpoint.py \
		archive/build.py archive/model-config.yaml archive/requirements.txt
	$(PY) -m archive.build --weights $(WEIGHTS) --detector $(DETECTOR_WEIGHTS) --lm $(LM) --export-path model-store

archive: $(MAR)

run: $(RUNTIME_STAMP) java $(MAR)
	@mkdir -p logs run
	@if curl -sf http://127.0.0.1:8080/ping >/dev/null 2>&1; then echo "TorchServe is already running"; else \
		LOG_LOCATION=logs METRICS_LOCATION=logs $(VENV)/bin/torchserve --start --ncs \
			--model-store model-store --ts-config config.properties \
			--models $(MODEL_NAME)=$(MODEL_NAME).mar > logs/torchserve.out 2>&1; fi
	@if [ -f run/gateway.pid ] && kill -0 $$(cat run/gateway.pid) 2>/dev/null; then echo "gateway is already running"; else \
		OCR_TORCHSERVE_KEY_FILE=$(CURDIR)/key_file.json \
		$(VENV)/bin/gunicorn --config gateway/gunicorn.conf.py --daemon --pid run/gateway.pid \
			--bind 0.0.0.0:$(GATEWAY_PORT) --access-logfile logs/gateway-access.log --error-logfile logs/gateway.log \
			gateway.wsgi:app; fi
	@echo -n "waiting for the model"; for i in $$(seq $(READY_TIMEOUT_S)); do \
		if curl -sf $(GATEWAY_URL)/readyz >/dev/null 2>&1; then echo " ready"; break; fi; \
		if [ $$i = $(READY_TIMEOUT_S) ]; then echo " not ready after $(READY_TIMEOUT_S) s: see logs/"; exit 1; fi; \
		echo -n "."; sleep 1; done
	@echo "Web UI and API:   $(GATEWAY_URL)/  (POST $(GATEWAY_URL)/api/v1/ocr)"
	@echo "TorchServe:       inference http://127.0.0.1:8080  management http://127.0.0.1:8081  metrics http://127.0.0.1:8082/metrics"
	@echo "Stop with:        make stop"

stop:
	@-[ -x $(VENV)/bin/torchserve ] && $(VENV)/bin/torchserve --stop
	@-if [ -f run/gateway.pid ]; then kill $$(cat run/gateway.pid) 2>/dev/null; rm -f run/gateway.pid; echo "gateway stopped"; fi

test: $(TEST_STAMP) java fonts browser monitoring lint
	$(PY) -m pytest tests

# Style and obvious bugs (ruff; its settings are in pyproject.toml).
lint: $(TEST_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Reliability, each against a service of its own: 2,000 seeded bad requests (broken and noise files
# of every accepted kind, bombs, odd images, wrong JSON), every answer documented JSON and the workers
# alive and not much larger; then 2,000 requests from 16 clients, good ones answered as when sent
# alone, a model worker killed under that load, TorchServe stopped and started again, and memory
# sampled over 10,000 more requests. `make test` runs short versions.
soak: $(TEST_STAMP) java fonts
	$(PY) -m tests.reliability.fuzz --cases 2000
	$(PY) -m tests.reliability.faults --load 2000 --memory 10000

# Trains (or resumes from runs/crnn/last.pt); then `python -m model.training.export publish runs/crnn/best.pt`
# stores the weights that `make archive` packs.
TRAIN_ARGS ?=
train: $(TRAIN_STAMP) fonts
	$(PY) -m model.training.recogniser --run runs/crnn $(TRAIN_ARGS)

# Trains (or resumes from runs/detector/last.pt) the text-line detector on synthetic pages; then
# `python -m model.training.export publish-detector runs/detector/best.pt` stores the weights the archive packs.
DETECTOR_ARGS ?=
train-detector: $(TRAIN_STAMP) fonts
	$(PY) -m model.training.detector --run runs/detector $(DETECTOR_ARGS)

# Rebuilds the committed character language model of the beam search from the training corpus
# (1 M seeded lines, ~40 s): the same file every time, unless the corpus code or charset changed.
lm: $(TRAIN_STAMP)
	$(PY) -m model.training.language_model --out $(LM)

# Real training material from the born-digital PDFs in ../shared/data (or OCR_DATA_DIR): line crops
# with labels, pages with line boxes in reading order, split by document; written to data/documents
# (outside git), the same files for the same seed.
DOCUMENTS_ARGS ?=
documents: $(TRAIN_STAMP)
	rm -rf data/documents
	$(PY) -m model.training.documents --out data/documents $(DOCUMENTS_ARGS)

# The registration lines of the labelled plate photos in ../shared/data/images (or OCR_DATA_DIR),
# found by reading each plate with the committed models; written to data/plates (outside git) for
# `make train TRAIN_ARGS="--plates data/plates --plate-share F ..."`.
plates: $(TRAIN_STAMP)
	rm -rf data/plates
	$(PY) -m model.training.plates --out data/plates

# Accuracy of the committed weights as served, per kind of line on the seeded synthetic validation
# set and per category on the real lines in ../shared/eval/lines and on 1,000 real-document
# validation lines (when `make documents` has written data/documents).
eval: $(TRAIN_STAMP) fonts
	$(PY) -m model.training.evaluate --weights $(WEIGHTS)

# Speed and memory: one-thread latency of a 20-character line, synthetic lines rendered per second
# on one core, the whole service under a bounded sustained load (latency percentiles, throughput,
# server memory before and after), one A4 page at 150 dpi (~30 lines) through the gateway, and how
# much of the model's in-process rate TorchServe and the gateway keep under `hey` at concurrency 1,
# 4 and 16, and the peak memory one request at the limits (pixels, body, PDF pages) costs.
bench: $(TEST_STAMP) java fonts
	$(call apt_install,hey)
	$(PY) -m tests.bench.model_latency
	$(PY) -m tests.bench.render_speed
	$(PY) -m tests.bench.service
	$(PY) -m tests.bench.page_latency
	$(PY) -m tests.bench.throughput
	$(PY) -m tests.bench.request_memory

# Our model next to Tesseract (chi_sim+eng, line mode) and RapidOCR (recognition only) on the same real
# lines (../shared/eval/lines, then 1,000 real-document validation lines when data/documents exists):
# a table of accuracy per category and median ms per line for each. The peers go into their own
# .venv-peers and the Tesseract packages are installed here only: never by `make run` or `make test`.
PEERS_VENV := .venv-peers
PEERS_STAMP := $(PEERS_VENV)/.installed
TESSERACT_PACKAGES := tesseract-ocr tesseract-ocr-chi-sim

$(PEERS_STAMP): requirements-peers.txt
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q -r requirements-peers.txt
	touch $@

bench-accuracy: $(TEST_STAMP) $(PEERS_STAMP)
	$(call apt_install,$(TESSERACT_PACKAGES))
	$(PY) -m tests.bench.accuracy --peers-python $(PEERS_VENV)/bin/python

# Whole pages: our page reader next to Tesseract (chi_sim+eng, psm 3) and RapidOCR 1.4 and 3 (detection,
# direction classifier, recognition) on the real pages in ../shared/eval/pages and ../shared/eval/books,
# 60 real-document validation pages (when `make documents` has written data/documents; scored
# without order) and 40 seeded synthetic pages: one table of page-level character accuracy and
# median seconds per page, per category.
bench-pages: $(TEST_STAMP) $(PEERS_STAMP) fonts
	$(call apt_install,$(TESSERACT_PACKAGES))
	$(PY) -m tests.bench.pages --peers-python $(PEERS_VENV)/bin/python
