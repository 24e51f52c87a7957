# The OCR service in one image; mirrors `make run` (same pins, same archive build, same ports).
# Two stages: the builder makes the .mar from the committed weights; the runtime image carries the
# runtime packages, the archive, the gateway (with the API contract it shares with the handler,
# model/inference/contract.py) and the web UI only: no training code, synthetic data or test tools.

FROM python:3.11-slim-bookworm AS builder
WORKDIR /build
# torch==2.13.0 must be the CPU build: PyTorch's CPU index serves it (PyPI's default is the CUDA one).
ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY model/ model/
COPY handler/ handler/
COPY archive/ archive/
# The same build as `make archive`.
RUN python -m archive.build --export-path model-store

FROM python:3.11-slim-bookworm
# Java 17 runs TorchServe's front end; curl is used by the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless curl \
    && rm -rf /var/lib/apt/lists/*
ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

# Runs as an unprivileged user: nothing in the image needs root.
RUN useradd --create-home --uid 10001 ocr
WORKDIR /app
COPY --from=builder /build/model-store/crnn_ocr.mar model-store/
COPY gateway/ gateway/
COPY webui/ webui/
COPY model/__init__.py model/
COPY model/inference/ model/inference/
COPY config.properties .
COPY deploy/entrypoint.sh .
RUN mkdir -p logs && chown -R ocr:ocr /app
USER ocr

# 5000: gateway (API + web UI). TorchServe's 8080/8081/8082 stay on the container's loopback, as in
# config.properties; mount another config.properties to expose the metrics port to a scraper.
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s CMD curl -sf http://127.0.0.1:5000/readyz || exit 1
# TorchServe writes its keys where it starts (/app); the gateway reads them there.
ENV LOG_LOCATION=/app/logs METRICS_LOCATION=/app/logs OCR_TORCHSERVE_KEY_FILE=/app/key_file.json
# Exits when TorchServe or the gateway dies (deploy/entrypoint.sh).
CMD ["./entrypoint.sh"]
