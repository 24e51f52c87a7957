#!/bin/bash
# The Docker image's command: TorchServe and the gateway side by side. When either exits, the other
# is stopped and the container exits with a failure, so the orchestrator restarts it instead of
# keeping a container that serves nothing (or nothing but errors) and may still look healthy.
set -u

torchserve --start --foreground --ncs --model-store model-store --ts-config config.properties \
    --models crnn_ocr=crnn_ocr.mar &
torchserve_pid=$!
gunicorn --config gateway/gunicorn.conf.py --bind 0.0.0.0:5000 --access-logfile - gateway.wsgi:app &
gateway_pid=$!

stop() {
    kill -TERM "$torchserve_pid" "$gateway_pid" 2>/dev/null
    wait
}
# docker stop: pass the signal on, and exit cleanly once both are down.
trap 'stop; exit 0' TERM INT

# Until either is gone. `wait -n` wakes when a child exits, but a child that exits while it is
# starting may be missed (its test hung once, under load): a one-second sleep beside it bounds each wait.
while kill -0 "$torchserve_pid" 2>/dev/null && kill -0 "$gateway_pid" 2>/dev/null; do
    sleep 1 &
    wait -n
done
if kill -0 "$torchserve_pid" 2>/dev/null; then gone=gateway; else gone=TorchServe; fi
echo "entrypoint: $gone exited; stopping the container" >&2
stop
exit 1
