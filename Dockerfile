# moscow-time on python:3.13-slim (Debian 13), running as appuser (10001).
#
# Build it with `nox -s build`: it downloads the hash-pinned wheels into
# build/wheelhouse/ on the host, then builds with no network. Its sibling,
# Dockerfile.distroless, differs only in its runtime base and stage.

# Pin by digest in production (docs/docker-best-practices.md shows how);
# `MOSCOW_TIME_OFFLINE=1 nox -s build` passes a stand-in built from Debian.
ARG PYTHON_IMAGE=python:3.13-slim-trixie
# The Python both stages must run: the wheels and the bytecode are cp313.
ARG PYTHON_VERSION=3.13
# The builder runs on the build machine's own platform, whatever platform the
# image is for: it only unpacks wheels and compiles bytecode, which are the
# same on every CPU, and under emulation that took minutes. nox -s build
# passes the same base for the build machine (an index upstream, the host's
# stand-in offline) and the image's CPU as wheels name it.
ARG BUILDER_IMAGE=python:3.13-slim-trixie
ARG BUILDER_PLATFORM=linux/amd64
# The platform the image is for; named, because buildah 1.28 otherwise looks
# the runtime base up for the builder's platform.
ARG IMAGE_PLATFORM=linux/amd64

# ---- runtime-python: what only the image's own Python can tell ---------------
# It runs on the image's platform, so under emulation for another CPU, and so
# does the least it can: stop a base with the wrong Python, and copy out the
# sources of its standard library for the builder to compile natively
# (image/export_stdlib.py). Nothing of this stage ships.
FROM --platform=${IMAGE_PLATFORM} ${PYTHON_IMAGE} AS runtime-python
ARG PYTHON_VERSION
# Root, so that it can read the scripts whatever the checkout's modes: this
# stage never ships (hadolint takes this for the image's user).
# hadolint ignore=DL3002
USER 0:0
COPY image/check_python.py /opt/moscow-time/image/
RUN ["python3", "/opt/moscow-time/image/check_python.py", "runtime"]
COPY image/export_stdlib.py /opt/moscow-time/image/
RUN ["python3", "/opt/moscow-time/image/export_stdlib.py", "/tmp/runtime-python"]

# ---- builder: the locked dependencies, offline, and the runtime's sources ---
FROM --platform=${BUILDER_PLATFORM} ${BUILDER_IMAGE} AS builder
# Every file's date: a constant that nox -s build passes, so that a layer
# depends on its inputs only (tools/images/identity.py). Declared first, it
# keys the layer cache: no layer cached at another epoch is reused.
ARG SOURCE_DATE_EPOCH
ARG PYTHON_VERSION
# Bytecode must not depend on hash randomisation (set constants).
ARG PYTHONHASHSEED=0
# The scripts this build runs (image/): readable files, not one-line
# programs. The runtime stage copies them from here, once their modes are set.
COPY image/ /opt/moscow-time/image/
# A wrong base must fail here, not at import time in production.
RUN ["python3", "/opt/moscow-time/image/check_python.py", "builder"]

# Dependencies before source, so a code change reuses this layer. The
# wheelhouse holds exactly the locked wheels for this Python and CPU.
COPY requirements.txt requirements-build.txt /tmp/locks/
# One wheelhouse per platform (build/wheelhouse/ARCH, Debian's name for the
# CPU): nox -s build names the one of the platform it builds.
ARG WHEELHOUSE=build/wheelhouse/amd64
COPY ${WHEELHOUSE}/ /tmp/wheelhouse/
# The image's CPU (x86_64, aarch64): install_locked.sh picks its wheels.
ARG WHEEL_MACHINE=x86_64
# pip, pinned in requirements-build.txt and checked against its hash, installs
# exactly the lock: by name, hash-checked, no index, no resolution
# (image/install_locked.sh says why each option is there).
RUN ["sh", "/opt/moscow-time/image/install_locked.sh", "/tmp/wheelhouse", "/tmp/locks", \
     "/opt/moscow-time/lib"]
ENV PYTHONPATH=/opt/moscow-time/app:/opt/moscow-time/lib \
    PYTHONDONTWRITEBYTECODE=1

# ---- app: the app and its bytecode, the same in every image ------------------
# On the builder's base alone, with neither wheels nor a platform's sources:
# one app change is built once, and the other variant and platform reuse it.
FROM --platform=${BUILDER_PLATFORM} ${BUILDER_IMAGE} AS app
ARG SOURCE_DATE_EPOCH
ARG PYTHONHASHSEED=0
# A checkout's file modes follow the host's umask, so they are set here, or
# the image ID would.
COPY moscow_time/ /opt/moscow-time/app/moscow_time/
RUN chmod -R u=rwX,go=rX /opt/moscow-time/app && \
    python3 -m compileall -q --invalidation-mode unchecked-hash /opt/moscow-time/app

# ---- stdlib-modules: what of the standard library serving the app loads ----
# The runtime base's standard library has no usable bytecode, and a non-root
# process cannot write it, so the next stage compiles exactly the modules the
# app loads while serving (image/precompile.py says why and how). Which ones
# they are depends on the app and its dependencies, not on the variant: one
# list a platform, and an app change that imports nothing new leaves it, and
# the bytecode, as they were.
FROM builder AS stdlib-modules
ARG SOURCE_DATE_EPOCH
ARG PYTHONHASHSEED=0
COPY --from=app /opt/moscow-time/app/ /opt/moscow-time/app/
RUN ["python3", "/opt/moscow-time/image/precompile.py", "list", \
     "/opt/moscow-time/stdlib-modules.json"]

# ---- stdlib-bytecode: those modules compiled from the runtime base's sources -
# Deterministically, at the runtime's paths, into a tree the runtime stage
# copies onto /. Nothing the app's import loads may write bytecode into what
# the runtime copies.
FROM builder AS stdlib-bytecode
ARG SOURCE_DATE_EPOCH
ARG PYTHONHASHSEED=0
COPY --from=runtime-python /tmp/runtime-python/ /tmp/runtime-python/
COPY --from=stdlib-modules /opt/moscow-time/stdlib-modules.json /tmp/
RUN ["python3", "/opt/moscow-time/image/precompile.py", "compile", "/tmp/runtime-python", \
     "/tmp/stdlib-modules.json", "/opt/moscow-time/stdlib-bytecode"]

# ---- runtime ----------------------------------------------------------------
FROM --platform=${IMAGE_PLATFORM} ${PYTHON_IMAGE} AS runtime
ARG SOURCE_DATE_EPOCH

# appuser, APP_UID:APP_UID, with no login shell and no home to write to. The
# entries are written directly rather than by useradd, whose shadow dates
# and log files would differ from build to build. The base's pip goes too
# (nothing at run time installs anything), and so do the setuid and setgid
# bits of su, passwd, mount and friends: nothing here may gain privileges.
ARG APP_UID=10001
RUN set -eu; \
    echo "appuser:x:${APP_UID}:${APP_UID}:moscow-time:/nonexistent:/usr/sbin/nologin" >>/etc/passwd; \
    echo "appuser:x:${APP_UID}:" >>/etc/group; \
    echo 'appuser:!:::::::' >>/etc/shadow; \
    rm -rf /usr/local/bin/pip* /usr/local/lib/python3*/site-packages/pip \
      /usr/local/lib/python3*/site-packages/pip-*.dist-info; \
    find / -xdev -type f -perm /6000 -exec chmod ug-s {} +

# The config comes before the app's files, so that an app change rebuilds
# none of it. Listen on every interface of the container. Bytecode is
# precompiled and the filesystem may be read-only, so never write it; logs
# reach `docker logs` at once, even if the process dies; the working
# directory never joins sys.path.
ENV HOST=0.0.0.0 \
    PORT=5000 \
    PYTHONPATH=/opt/moscow-time/app:/opt/moscow-time/lib \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONSAFEPATH=1 \
    LANG=C.UTF-8
WORKDIR /opt/moscow-time
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER ${APP_UID}:${APP_UID}
EXPOSE 5000
# No shell, curl or wget needed: Python asks /healthz itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/python3", "-m", "moscow_time.healthcheck"]
# Python is PID 1 and handles SIGTERM itself (moscow_time/server.py).
ENTRYPOINT ["/usr/local/bin/python3", "-m", "moscow_time"]

# What never changes from build to build. The labels that name one build
# (version, revision, created, base.name) nox -s build sets on the finished
# image (tools/images/appimages.py): as build args they would be steps of
# their own after the app, rebuilt with every change.
LABEL org.opencontainers.image.title="moscow-time" \
      org.opencontainers.image.description="The current time in Moscow, served by Waitress (slim runtime)" \
      org.opencontainers.image.source="https://github.com/moscow-time/moscow-time"

# Root-owned and read-only to the app. The dependencies first, then the
# bytecode of the base's own standard library (made from this base's sources,
# at their paths), which an app change seldom alters; the app last, so that
# its change rebuilds one layer.
COPY --from=builder /opt/moscow-time/lib/ /opt/moscow-time/lib/
COPY --from=stdlib-bytecode /opt/moscow-time/stdlib-bytecode/ /
COPY --from=app /opt/moscow-time/app/ /opt/moscow-time/app/
