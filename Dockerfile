# Dockerfile -- glance-api (and glance-sim, the demo's bot fleet): built on Debian 12 with Debian's -dev packages, run on Debian 12 slim with only
# the runtime libraries, as a non-root user. `docker compose up` builds it; so does `docker build -t glance-api .`
#
# Package versions are not pinned: both stages follow Debian 12's stable updates, so a rebuild picks up its
# security fixes; the library package names carry their ABI (libhiredis0.14, libh2o-evloop0.13, ...).

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libh2o-evloop-dev libhiredis-dev libmsgpack-dev libwslay-dev libssl-dev zlib1g-dev \
      libcurl4-openssl-dev libjansson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake/ cmake/
COPY services/ services/
COPY tests/unit/ tests/unit/
COPY scripts/build.sh scripts/
RUN GLANCE_BUILD_DIR=/src/build scripts/build.sh \
 && mkdir /out \
 && cp build/glance-api build/glance-sim /out/

FROM debian:12-slim
# the libraries glance-api and glance-sim link (ldd; dpkg -S), and curl for the health check and the demo
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libh2o-evloop0.13 libhiredis0.14 libmsgpackc2 libssl3 libwslay1 zlib1g libcurl4 libjansson4 \
      curl \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/dpkg.log \
 && groupadd --system --gid 10001 glance \
 && useradd --system --uid 10001 --gid glance --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin glance
WORKDIR /app
COPY --from=build /out/ /usr/local/bin/
COPY web/ /app/web/
COPY scripts/demo-fleet.sh /app/scripts/
ENV GLANCE_HOST=0.0.0.0 \
    GLANCE_PORT=8080 \
    GLANCE_WEB_ROOT=/app/web
# numeric, so that Kubernetes can check runAsNonRoot
USER 10001:10001
EXPOSE 8080
# glance-api's SIGTERM handler first drains (GLANCE_DRAIN_MS, default 3 s: /readyz answers 404 so the load
# balancer sends nothing new), then stops accepting, closes feeds with 1001 (going away) so browsers move to
# another replica, finishes in-flight requests and exits 0, within 10 s more: give it more than the sum
# (docker compose: stop_grace_period; Kubernetes: terminationGracePeriodSeconds)
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${GLANCE_PORT}/healthz" || exit 1
ENTRYPOINT ["/usr/local/bin/glance-api"]
