#!/usr/bin/python3
"""glance_baseline.py -- a BASELINE PORT written for the benchmarks, not the original Glance.

It follows the original's approach as its README describes it, so that tests/bench can compare
glance-api with it in the same run: one Python asyncio process (aiohttp, from Debian's python3-aiohttp),
the shard states in a dict in memory, a WebSocket broadcast of one message per event to every client
(no coalescing), and a polling loop that marks shards unhealthy. It speaks the subset of Glance's HTTP
API and feed protocol the benchmarks use, in the same JSON shapes, so the same tools measure both.

Configuration (environment): GLANCE_BOTS (required, "main:360;demo:1"), GLANCE_HOST (127.0.0.1),
GLANCE_PORT (8080), GLANCE_HEALTH_TIMEOUT (30 s), BASELINE_POLL_S (the health loop's period, 1 s).
"""
import asyncio
import json
import os
import time

from aiohttp import WSMsgType, web

STATES = ["unknown", "unhealthy", "offline", "online", "starting", "stopping", "resuming"]
UNKNOWN, UNHEALTHY, ONLINE = 0, 1, 3


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"))


def now_ms():
    return int(time.time() * 1000)


class Glance:
    def __init__(self, bots, health_timeout):
        self.health_timeout = health_timeout
        self.order = []
        self.states = {}     # cluster -> [state per shard]
        self.last_seen = {}  # cluster -> [monotonic seconds of the last status or ping]
        self.since = {}      # cluster -> [unix ms of the last state change]
        self.version = {}
        for part in bots.split(";"):
            if not part:
                continue
            name, shards = part.split(":")
            shards = int(shards)
            self.order.append(name)
            self.states[name] = [UNKNOWN] * shards
            self.last_seen[name] = [0.0] * shards
            self.since[name] = [0] * shards
            self.version[name] = 0
        self.clients = set()

    async def broadcast(self, cluster, shard, state):
        v = self.version[cluster]
        msg = dumps({"type": "update", "clusters": [
            {"name": cluster, "from": v - 1, "to": v, "changes": [[shard, state]]}]})
        for ws in list(self.clients):
            try:
                await ws.send_str(msg)
            except Exception:
                self.clients.discard(ws)

    async def set_state(self, cluster, shard, state):
        if self.states[cluster][shard] == state:
            return
        self.states[cluster][shard] = state
        self.since[cluster][shard] = now_ms()
        self.version[cluster] += 1
        await self.broadcast(cluster, shard, state)

    def hello(self):
        return dumps({"type": "hello", "health_timeout": self.health_timeout, "interval_ms": 0, "clusters": [
            {"name": c, "shards": len(self.states[c]), "version": self.version[c], "states": self.states[c]}
            for c in self.order]})

    async def health_loop(self, period):
        while True:
            await asyncio.sleep(period)
            deadline = time.monotonic() - self.health_timeout
            for c in self.order:
                states, seen = self.states[c], self.last_seen[c]
                for shard in range(len(states)):
                    if states[shard] not in (UNKNOWN, UNHEALTHY) and seen[shard] < deadline:
                        await self.set_state(c, shard, UNHEALTHY)


def error(status, message):
    return web.json_response({"error": message}, status=status)


def make_app(g):
    def shard_of(request):
        c = request.match_info["cluster"]
        if c not in g.states:
            raise web.HTTPBadRequest(text=dumps({"error": "unknown cluster"}), content_type="application/json")
        try:
            shard = int(request.match_info["id"])
            if not 0 <= shard < len(g.states[c]):
                raise ValueError
        except ValueError:
            raise web.HTTPBadRequest(text=dumps({"error": "bad shard id"}), content_type="application/json")
        return c, shard

    async def post_status(request):
        c, shard = shard_of(request)
        try:
            state = int(request.match_info["state"])
            if not 0 <= state <= 6:
                raise ValueError
        except ValueError:
            return error(400, "state must be a whole number from 0 to 6")
        g.last_seen[c][shard] = time.monotonic()
        await g.set_state(c, shard, state)
        return web.Response(status=204)

    async def post_health(request):
        c, shard = shard_of(request)
        if g.states[c][shard] == UNKNOWN:
            return error(409, "health ping for a shard that has never reported a status")
        g.last_seen[c][shard] = time.monotonic()
        if g.states[c][shard] == UNHEALTHY:
            await g.set_state(c, shard, ONLINE)
        return web.Response(status=204)

    async def get_status(request):
        return web.Response(text=dumps({"clusters": [
            {"name": c, "shards": len(g.states[c]), "version": g.version[c], "states": g.states[c]}
            for c in g.order]}), content_type="application/json")

    async def get_shard(request):
        c, shard = shard_of(request)
        st = g.states[c][shard]
        return web.Response(text=dumps({"cluster": c, "shard": shard, "state": st, "state_name": STATES[st],
                                        "since_ms": g.since[c][shard]}), content_type="application/json")

    async def healthz(request):
        return web.Response(text='{"ok":true}', content_type="application/json")

    async def feed(request):
        ws = web.WebSocketResponse(heartbeat=15)
        await ws.prepare(request)
        await ws.send_str(g.hello())
        g.clients.add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and '"resync"' in msg.data:
                    await ws.send_str(g.hello())
        finally:
            g.clients.discard(ws)
        return ws

    app = web.Application()
    app.router.add_post("/api/status/{cluster}/{id}/{state}", post_status)
    app.router.add_post("/api/health/{cluster}/{id}", post_health)
    app.router.add_get("/api/status", get_status)
    app.router.add_get("/api/status/{cluster}/{id}", get_shard)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", healthz)
    app.router.add_get("/api/feed", feed)
    return app


def main():
    g = Glance(os.environ["GLANCE_BOTS"], int(os.environ.get("GLANCE_HEALTH_TIMEOUT", "30")))
    app = make_app(g)

    async def start_loop(app):
        app["health"] = asyncio.get_running_loop().create_task(g.health_loop(float(os.environ.get("BASELINE_POLL_S", "1"))))

    app.on_startup.append(start_loop)
    web.run_app(app, host=os.environ.get("GLANCE_HOST", "127.0.0.1"), port=int(os.environ.get("GLANCE_PORT", "8080")),
                access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
