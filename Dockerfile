# The operator's container image: `make image` (docs/install.md).
#
# Two stages on the same base: `build` turns the source into wheels (ours and every runtime
# dependency, pinned to the versions in requirements/dev.lock that the test suite ran with); the
# final stage installs those wheels from the build stage without copying them into a layer, and
# contains no compiler, no build tool, no source tree and no credentials.
#
# The base is pinned by tag (Python 3.11, Debian 12), named once below. For a reproducible build,
# pin it by digest too: `docker buildx imagetools inspect python:3.11-slim-bookworm` prints the
# digest; write it as `FROM python:3.11-slim-bookworm@sha256:<digest> AS base`.
FROM python:3.11-slim-bookworm AS base

FROM base AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements/dev.lock requirements/dev.lock
COPY pyproject.toml README.md ./
# Only the operator package: the provider sandboxes (operator/rollback_sandbox/) are a development
# tool and stay out of the image.
COPY operator/rollback_operator/ operator/rollback_operator/
# --constraint: the dependencies come from pyproject.toml, their versions from the lock file.
RUN pip wheel --constraint requirements/dev.lock --wheel-dir /wheels .

FROM base
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Only the wheels built above; --no-index: nothing is fetched from anywhere else.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels rollback-operator
# A numeric non-root user (the conventional "nonroot" id), so that Kubernetes can verify
# runAsNonRoot without a passwd entry; the Deployment sets the same ids.
USER 65532:65532
# /healthz (liveness) and /metrics (Prometheus).
EXPOSE 8080 9090
# checkov:skip=CKV_DOCKER_2: no HEALTHCHECK: Kubernetes ignores it; the Deployment's livenessProbe checks /healthz
ENTRYPOINT ["rollback-operator", "run"]
