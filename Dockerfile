# syntax=docker/dockerfile:1
# chatstate's one image: `chatstate worker`, `chatstate api`, `chatstate bridge` and the one-shot
# `chatstate topics apply` / `chatstate db migrate` all run from it (docs/operations.md, Deploying).
#
# Stage 1 builds wheels for chatstate and every dependency (a compiler is needed only here);
# stage 2 installs them into a slim image that runs as an unprivileged user and writes nothing
# outside /tmp, so it runs with a read-only root filesystem (mount an emptyDir or a tmpfs on /tmp).
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS wheels
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY processor ./processor
COPY schemas ./schemas
RUN pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ARG UID=10001
RUN useradd --system --uid ${UID} --user-group --no-create-home --home-dir /tmp chatstate
COPY --from=wheels /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels chatstate \
 && rm -rf /wheels
COPY topics.yaml /app/topics.yaml
# Everything written at run time goes under /tmp: Faust's data directory (CHATSTATE_STATE_DIR),
# caches (CHATSTATE_CACHE_DIR, HOME). Listen addresses are 0.0.0.0 inside a container so the
# kubelet's probes and Prometheus reach the ports; the network policy decides who else does.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    CHATSTATE_TOPICS_FILE=/app/topics.yaml \
    CHATSTATE_STATE_DIR=/tmp/chatstate \
    CHATSTATE_CACHE_DIR=/tmp/chatstate-cache \
    CHATSTATE_LOG_FORMAT=json \
    CHATSTATE_API_HOST=0.0.0.0 \
    CHATSTATE_API_OPS_HOST=0.0.0.0 \
    CHATSTATE_WORKER_HTTP_HOST=0.0.0.0 \
    CHATSTATE_BRIDGE_HTTP_HOST=0.0.0.0
USER ${UID}:${UID}
WORKDIR /tmp
VOLUME ["/tmp"]
# API, API ops (/metrics), worker ops, bridge ops.
EXPOSE 8080 8081 8082 8083
ENTRYPOINT ["chatstate"]
CMD ["--help"]
