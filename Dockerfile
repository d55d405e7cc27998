# Policybot as a container: the CLI now, the Slack bot later.
#
# Two stages: the build stage installs the project into a virtualenv (pip and
# setuptools do their work there), the runtime stage copies only that
# virtualenv. The runtime image runs as a numeric non-root user and writes
# nothing outside /tmp, so it works with readOnlyRootFilesystem: true.
#
#   docker build -t policybot .
#   docker run --rm --read-only -v "$PWD/examples:/work:ro" policybot check /work/manifests

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/policybot
WORKDIR /src

# .dockerignore lets in only what the package needs: pyproject.toml,
# README.md (the package's long description), bot/, handlers/ and knowledge/.
COPY . .

# A regular, non-editable install without the dev extras. pip compiles the
# bytecode here, because the runtime file system will be read-only.
RUN /opt/policybot/bin/pip install --no-cache-dir --compile . \
    && /opt/policybot/bin/policybot --version


FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="policybot" \
      org.opencontainers.image.description="Explains Kubernetes admission rejections, with the exact fix." \
      org.opencontainers.image.licenses="Apache-2.0"

# NB: the numeric USER below lets the kubelet verify runAsNonRoot without
# reading /etc/passwd; the passwd entry only makes `ps` and logs readable.
ARG UID=10001
RUN groupadd --system --gid "${UID}" policybot \
    && useradd --system --uid "${UID}" --gid "${UID}" --no-create-home \
       --home-dir /tmp --shell /usr/sbin/nologin policybot

COPY --from=build /opt/policybot /opt/policybot

# No bytecode or caches written at run time; HOME points at the one writable
# place, for libraries that insist on a home directory.
ENV PATH=/opt/policybot/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp

# Declared so that a read-only root file system still has scratch space.
VOLUME ["/tmp"]
WORKDIR /tmp

USER ${UID}:${UID}

ENTRYPOINT ["policybot"]
CMD ["--help"]
