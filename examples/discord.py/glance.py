"""glance.py -- report a discord.py AutoShardedClient's shards to Glance: each state change at once, and every
interval one batched report of all of this process's shards with their latency and guild counts.

What a bot author adds (discord.py 2.x, before client.run; with a plain client, after its own @client.event
on_shard_* handlers, since discord.py keeps one coroutine per event there; a commands bot has no such order):

    from glance import Glance, STOPPING
    glance = Glance(
        client,
        url='https://status.example.com',                # where glance-api answers
        cluster='main',                                   # a cluster named in GLANCE_BOTS
        passphrase=os.environ.get('GLANCE_PASSPHRASE'),   # GLANCE_PASSPHRASE of the replicas, if set
        interval=10,                                      # seconds; keep it well under GLANCE_HEALTH_TIMEOUT
    )
    # at shutdown, before client.close():  await glance.stop(state=STOPPING)

The periodic report starts with the first shard event. Nothing here raises into the bot: a failed request is
logged once per kind of failure (until one succeeds) and repaired by the next report, which always carries every
shard's state as well as its figures.
"""

import asyncio
import logging
import math
from urllib.parse import quote

import aiohttp

log = logging.getLogger('glance')

# Glance's shard states (README, "Shard states")
UNKNOWN, UNHEALTHY, OFFLINE, ONLINE, STARTING, STOPPING, RESUMING = range(7)

TIMEOUT_S = 10
MAX_LATENCY_MS, MAX_MEMBERS = 600_000, 4_000_000_000  # Glance's bounds


class Glance:
    def __init__(self, client, *, url, cluster, passphrase=None, interval=10.0, latency=None):
        """Hooks the client's on_shard_* events. latency(shard_id) gives a shard's gateway latency in seconds, or
        None; the default asks client.get_shard(shard_id).latency."""
        self.client = client
        self.base = url.rstrip('/')
        self.cluster = quote(cluster, safe='')
        self.headers = {'Authorization': passphrase} if passphrase else {}
        self.interval = interval
        self.latency = latency or (lambda shard_id: getattr(client.get_shard(shard_id), 'latency', None))
        self.states = {}  # shard id -> the state this process last saw for it
        self.failing = set()  # kinds of failure logged since the last success
        self.lock = asyncio.Lock()  # one request at a time, in order: a report never overtakes a state change
        self.session = None
        self.task = None
        self.stopped = False
        # discord.py 2.2: shard_connect comes with READY (guilds still arriving), shard_ready once they came,
        # shard_resumed after a RESUME; shard_disconnect before every reconnect, and when the client closes.
        for name, state in (('on_shard_connect', lambda: STARTING), ('on_shard_ready', lambda: ONLINE),
                            ('on_shard_resumed', lambda: ONLINE),
                            ('on_shard_disconnect', lambda: OFFLINE if client.is_closed() else RESUMING)):
            self._hook(name, state)

    async def report(self):
        """Sends one report of every shard this process has seen now; returns True when Glance took it."""
        if not self.states:
            return False
        return await self._send(f'/api/clusters/{self.cluster}/report', self._body)

    async def stop(self, state=None):
        """Ends the periodic report (events are ignored from now on); with a state, reports every shard in it
        first. Closes the HTTP session. Never raises."""
        self.stopped = True
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
        if state is not None:
            for shard_id in self.states:
                self.states[shard_id] = state
            await self.report()
        async with self.lock:
            if self.session is not None:
                await self.session.close()
                self.session = None

    def _hook(self, name, state):
        async def handler(shard_id, *_):
            if self.stopped:
                return
            now = self.states[shard_id] = state()
            if self.task is None:  # the first event: the loop runs now
                self.task = asyncio.get_running_loop().create_task(self._every_interval())
            await self._send(f'/api/status/{self.cluster}/{shard_id}/{now}')

        client = self.client
        if hasattr(client, 'add_listener'):  # commands.Bot, AutoShardedBot: listeners add up
            client.add_listener(handler, name)
            return
        previous = getattr(client, name, None)

        async def chained(*args, **kwargs):
            await handler(*args)
            if previous is not None:
                await previous(*args, **kwargs)

        setattr(client, name, chained)

    async def _every_interval(self):
        while True:
            await asyncio.sleep(self.interval)
            await self.report()

    # every shard's state and figures; latency only while online (a shard that is not keeps its last one)
    def _body(self):
        counts = {}
        for guild in self.client.guilds:
            c = counts.setdefault(guild.shard_id, [0, 0, 0])
            c[0] += 1
            if guild.unavailable:
                c[1] += 1
            else:
                c[2] += guild.member_count or 0
        shards = []
        for shard_id, state in self.states.items():
            guilds, unavailable, members = counts.get(shard_id, (0, 0, 0))
            item = {'id': shard_id, 'state': state, 'guilds': guilds, 'unavailable_guilds': unavailable,
                    'members': min(members, MAX_MEMBERS)}
            seconds = self.latency(shard_id) if state == ONLINE else None
            if seconds is not None and math.isfinite(seconds) and seconds >= 0:  # inf before the first heartbeat
                item['latency_ms'] = min(round(seconds * 1000), MAX_LATENCY_MS)
            shards.append(item)
        return {'shards': shards}

    async def _send(self, path, body=None):
        async with self.lock:
            try:
                if self.session is None:
                    self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S))
                payload = body() if body else None  # built now, after every change queued before it
                async with self.session.post(self.base + path, json=payload, headers=self.headers) as res:
                    text = await res.text()
                    if res.status >= 300:
                        return self._failed(f'HTTP {res.status}', text[:200])
            except asyncio.TimeoutError:
                return self._failed('timeout', f'no answer within {TIMEOUT_S} s')
            except Exception as err:  # aiohttp.ClientError and anything else: never into the bot
                return self._failed(type(err).__name__, str(err))
        if self.failing:
            log.warning('glance: %s answers again', self.base)
        self.failing.clear()
        return True

    def _failed(self, kind, detail):
        if kind not in self.failing:
            self.failing.add(kind)
            log.warning('glance: %s: %s %s (retried at the next report; logged once until it answers)',
                        self.base, kind, detail)
        return False
