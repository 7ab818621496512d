# One image for the web app and the worker: `issue-pilot serve` or `issue-pilot worker`.
#   docker build -t issue-pilot .
# Where no registry is reachable, build from a local Debian 12 image with Python 3.11:
#   docker build --build-arg BASE_IMAGE=issue-pilot-sandbox:bookworm-1 -t issue-pilot .
# Behind a TLS-intercepting proxy, copy its CA bundle to docker/extra-ca/ca.crt first.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# Debian's own python3 has no pip or venv; the python image has both.
RUN python3 -c "import ensurepip" 2>/dev/null || { apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
       python3-venv python3-pip && rm -rf /var/lib/apt/lists/*; }
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY bot bot
COPY handlers handlers
COPY prompts prompts
COPY ghsim ghsim
COPY docker/extra-ca /tmp/extra-ca
RUN if [ -s /tmp/extra-ca/ca.crt ]; then \
        export PIP_CERT=/tmp/extra-ca/ca.crt SSL_CERT_FILE=/tmp/extra-ca/ca.crt; fi \
    && python3 -m venv /opt/uv && /opt/uv/bin/pip install -q uv \
    && /opt/uv/bin/uv export --frozen --no-dev --no-emit-project -o /tmp/requirements.txt \
    && python3 -m venv /opt/pilot \
    && /opt/uv/bin/uv pip install --native-tls -q --python /opt/pilot/bin/python -r /tmp/requirements.txt \
    && /opt/uv/bin/uv pip install --native-tls -q --python /opt/pilot/bin/python --no-deps .

FROM ${BASE_IMAGE}
# git is what the worker uses for mirrors, commits and pushes.
RUN command -v git >/dev/null || { apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*; }
RUN (getent passwd pilot || useradd --create-home --uid 10001 pilot 2>/dev/null \
     || echo "pilot:x:10001:10001::/home/pilot:/bin/sh" >> /etc/passwd) \
    && mkdir -p /home/pilot /var/lib/issue-pilot && chown 10001 /home/pilot /var/lib/issue-pilot
COPY --from=build /opt/pilot /opt/pilot
ENV PATH=/opt/pilot/bin:$PATH PYTHONUNBUFFERED=1 PILOT_RUNS_DIR=/var/lib/issue-pilot/runs
USER 10001:10001
WORKDIR /var/lib/issue-pilot
EXPOSE 8000
ENTRYPOINT ["issue-pilot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
