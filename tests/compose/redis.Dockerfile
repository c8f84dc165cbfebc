# redis.Dockerfile -- a stand-in for the official redis image (no registry answers here), from Debian's
# redis-server. It behaves as the official image does where docker-compose.yml relies on it: `redis-server`
# as the command, run as user redis, /data as working directory and volume (the AOF lands there), redis-cli
# on the PATH for the health check.
FROM debian:12-slim
# no service may start during the install; debian:12-slim ships this policy, but a base made elsewhere may not
RUN [ -e /usr/sbin/policy-rc.d ] || printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown redis:redis /data
# the named volume starts as a copy of this directory, so it belongs to redis from the first start
VOLUME /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server"]
