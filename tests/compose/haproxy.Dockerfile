# haproxy.Dockerfile -- a stand-in for the official haproxy image (no registry answers here), from Debian's
# haproxy (2.6, as the tag docker-compose.yml names). Like the official image: the configuration is read
# from /usr/local/etc/haproxy/haproxy.cfg, haproxy runs as user haproxy in the master-worker mode, and
# SIGUSR1 is its stop signal (a soft stop: listeners close, open connections may finish).
FROM debian:12-slim
RUN [ -e /usr/sbin/policy-rc.d ] || printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/local/etc/haproxy /var/lib/haproxy \
 && chown haproxy:haproxy /var/lib/haproxy
WORKDIR /var/lib/haproxy
USER haproxy
STOPSIGNAL SIGUSR1
# -W -db: master-worker in the foreground, as the official image's entrypoint adds
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
