# One image for the web app and the worker: `issue-pilot serve` or `issue-pilot worker`.
#   docker build -t issue-pilot .
# Where no registry is reachable, build from a local Debian 12 image with Python 3.11:
#   docker build --build-arg BASE_IMAGE=issue-pilot-sandbox:bookworm-1 -t issue-pilot .
# Behind a TLS-intercepting proxy, copy its CA bundle to docker/extra-ca/ca.crt first.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG UV_VERSION=0.13.9
# Debian's own python3 has no pip or venv; the python image has both.
RUN python3 -c "import ensurepip" 2>/dev/null || { apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
       python3-venv python3-pip && rm -rf /var/lib/apt/lists/*; }
COPY docker/extra-ca /tmp/extra-ca
# The tools venv: uv to install the lock, hatchling to build the project's wheel without
# fetching a build backend again each time the source changes.
RUN if [ -s /tmp/extra-ca/ca.crt ]; then export PIP_CERT=/tmp/extra-ca/ca.crt; fi \
    && python3 -m venv /opt/tools \
    && /opt/tools/bin/pip install -q --disable-pip-version-check "uv==${UV_VERSION}" "hatchling>=1.25"
WORKDIR /src
# Dependencies first, from the lock alone: this layer is reused until uv.lock changes.
COPY pyproject.toml uv.lock ./
RUN if [ -s /tmp/extra-ca/ca.crt ]; then export SSL_CERT_FILE=/tmp/extra-ca/ca.crt; fi \
    && /opt/tools/bin/uv export --frozen --no-dev --no-emit-project -q \
       -o /tmp/requirements.txt \
    && python3 -m venv --without-pip /opt/pilot \
    && /opt/tools/bin/uv pip install --native-tls -q --compile-bytecode \
       --python /opt/pilot/bin/python -r /tmp/requirements.txt
COPY README.md ./
COPY bot bot
COPY handlers handlers
COPY prompts prompts
COPY ghsim ghsim
# The project goes to a prefix of its own, laid over the venv in the final stage: a source
# change then rebuilds a small layer, not the whole venv.
RUN /opt/tools/bin/pip wheel -q --no-deps --no-build-isolation -w /tmp/wheel . \
    && /opt/tools/bin/uv pip install -q --offline --no-deps --compile-bytecode \
       --python /opt/pilot/bin/python --prefix /opt/project /tmp/wheel/*.whl

FROM ${BASE_IMAGE}
# git is what the worker uses for mirrors, commits and pushes.
RUN command -v git >/dev/null || { apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends git ca-certificates \
    && rm -rf /var/lib/apt/lists/*; }
# Debootstrap's minbase may lack useradd, hence the fallback to editing the files.
RUN (getent passwd pilot >/dev/null || useradd --create-home --uid 10001 --user-group pilot 2>/dev/null \
     || { echo "pilot:x:10001:10001::/home/pilot:/bin/sh" >> /etc/passwd \
          && echo "pilot:x:10001:" >> /etc/group; }) \
    && mkdir -p /home/pilot /var/lib/issue-pilot/runs /var/lib/issue-pilot/cache \
    && chown -R 10001:10001 /home/pilot /var/lib/issue-pilot
COPY --from=build /opt/pilot /opt/pilot
COPY --from=build /opt/project /opt/pilot
ENV PATH=/opt/pilot/bin:$PATH PYTHONUNBUFFERED=1 HOME=/home/pilot \
    PILOT_RUNS_DIR=/var/lib/issue-pilot/runs PILOT_CACHE_DIR=/var/lib/issue-pilot/cache
USER 10001:10001
WORKDIR /var/lib/issue-pilot
EXPOSE 8000
ENTRYPOINT ["issue-pilot"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
