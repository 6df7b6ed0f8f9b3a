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

# ---- builder: install the lock into /opt/moscow-time, offline -------------
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

# The runtime base's standard library has no usable bytecode, and a non-root
# process cannot write it: the last step compiles, deterministically, exactly
# the modules the app imports while serving, from the runtime's own sources,
# into a tree the runtime stage copies onto / (image/precompile.py says why
# and how). Its sources come before the app, which does not change them.
# Nothing the app's import loads may write bytecode into what the runtime copies.
COPY --from=runtime-python /tmp/runtime-python/ /tmp/runtime-python/
ENV PYTHONPATH=/opt/moscow-time/app:/opt/moscow-time/lib \
    PYTHONDONTWRITEBYTECODE=1

# The app last: editing it rebuilds only from here on. A checkout's file
# modes follow the host's umask, so they are set here, or the image ID would.
COPY moscow_time/ /opt/moscow-time/app/moscow_time/
RUN chmod -R u=rwX,go=rX /opt/moscow-time/app && \
    python3 -m compileall -q --invalidation-mode unchecked-hash /opt/moscow-time/app
RUN ["python3", "/opt/moscow-time/image/precompile.py", "/tmp/runtime-python", \
     "/opt/moscow-time/stdlib-bytecode"]

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

# Root-owned and read-only to the app.
COPY --from=builder /opt/moscow-time/lib/ /opt/moscow-time/lib/
COPY --from=builder /opt/moscow-time/app/ /opt/moscow-time/app/
# The bytecode of the base's own standard library, made in the builder from
# this base's sources, at their paths (image/precompile.py).
COPY --from=builder /opt/moscow-time/stdlib-bytecode/ /

# Labels last: the revision (the last commit that changed an input) would
# otherwise invalidate the layers above. nox -s build supplies these build
# args, and the dynamic ones again as --label (buildah's cache ignores a
# changed arg).
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG PYTHON_IMAGE
LABEL org.opencontainers.image.title="moscow-time" \
      org.opencontainers.image.description="The current time in Moscow, served by Waitress (slim runtime)" \
      org.opencontainers.image.source="https://github.com/moscow-time/moscow-time" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
