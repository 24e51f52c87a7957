# The OCR service in one image; mirrors `make run` (same pins, same archive build, same ports).
FROM python:3.11-slim-bookworm

# Java 17 runs TorchServe's front end; curl is used by the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jre-headless curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# torch==2.13.0 must be the CPU build: PyTorch's CPU index serves it (PyPI's default is the CUDA one).
ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY model/ model/
COPY handler/ handler/
COPY archive/ archive/
COPY gateway/ gateway/
COPY webui/ webui/
COPY config.properties .
# The same build as `make archive`, from the committed weights.
RUN python -m archive.build --weights model/weights/crnn.pt --detector model/weights/detector.pt \
    --lm model/weights/lm.npz --export-path model-store

# 5000: gateway (API + web UI). TorchServe's 8080/8081/8082 stay on the container's loopback, as in
# config.properties; mount another config.properties to expose the metrics port to a scraper.
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s CMD curl -sf http://127.0.0.1:5000/readyz || exit 1
ENV LOG_LOCATION=/app/logs METRICS_LOCATION=/app/logs
CMD ["sh", "-c", "torchserve --start --ncs --model-store model-store --ts-config config.properties --models crnn_ocr=crnn_ocr.mar && exec gunicorn --bind 0.0.0.0:5000 --workers 2 --timeout 60 --access-logfile - gateway.wsgi:app"]
