"""glance.py -- report a discord.py AutoShardedClient's shards to Glance: each state change at once, and every
interval one batched report of all of this process's shards with their latency, guild counts and gateway counters;
once an hour, the identify budget Discord's /gateway/bot gives the bot.

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

Each report also carries every shard's gateway counters since the process started: events (dispatches received),
identifies (new sessions), resumes and disconnects (connections closed, whatever the reason).

The periodic report and the hourly /gateway/bot start with the first shard event. Nothing here raises into the
bot: a failed request is logged once per kind of failure (until one succeeds) and repaired by the next report, which
always carries every shard's state as well as its figures; a failed /gateway/bot is logged and asked again the next
hour.
"""

import asyncio
import logging
import math
from urllib.parse import quote

import aiohttp
import discord

log = logging.getLogger('glance')

# Glance's shard states (README, "Shard states")
UNKNOWN, UNHEALTHY, OFFLINE, ONLINE, STARTING, STOPPING, RESUMING = range(7)

TIMEOUT_S = 10
MAX_LATENCY_MS, MAX_MEMBERS = 600_000, 4_000_000_000  # Glance's bounds
HOUR_S, MAX_RESET_AFTER_MS = 3600, 7 * 24 * 3_600_000  # the last: Glance's bound for Discord's reset_after
COUNTERS = ('events', 'resumes', 'identifies', 'disconnects')


class Glance:
    def __init__(self, client, *, url, cluster, passphrase=None, interval=10.0, latency=None,
                 gateway_interval=HOUR_S):
        """Hooks the client's on_shard_* and on_socket_event_type events. latency(shard_id) gives a shard's gateway
        latency in seconds, or None; the default asks client.get_shard(shard_id).latency. gateway_interval (seconds,
        an hour by default) is how often /gateway/bot is asked, the first time at the first shard event."""
        self.client = client
        self.base = url.rstrip('/')
        self.cluster = quote(cluster, safe='')
        self.headers = {'Authorization': passphrase} if passphrase else {}
        self.interval = interval
        self.gateway_interval = gateway_interval
        self.latency = latency or (lambda shard_id: getattr(client.get_shard(shard_id), 'latency', None))
        self.states = {}  # shard id -> the state this process last saw for it
        self.counters = {}  # shard id -> {'events': n, 'resumes': n, ...} since the process started
        self.sequences = {}  # shard id -> (session id, the last sequence number counted as events)
        self.failing = set()  # kinds of failure logged since the last success
        self.lock = asyncio.Lock()  # one request at a time, in order: a report never overtakes a state change
        self.session = None
        self.task = None
        self.gateway_task = None
        self.stopped = False
        # discord.py 2.2: shard_connect comes with READY (a new session: an identify; guilds still arriving),
        # shard_ready once they came, shard_resumed after a RESUME; shard_disconnect at every closed connection (an
        # op 7 RECONNECT and an invalid session close it too) before the reconnect, and when the client closes.
        for name, state, counter in (('on_shard_connect', lambda: STARTING, 'identifies'),
                                     ('on_shard_ready', lambda: ONLINE, None),
                                     ('on_shard_resumed', lambda: ONLINE, 'resumes'),
                                     ('on_shard_disconnect', lambda: OFFLINE if client.is_closed() else RESUMING,
                                      'disconnects')):
            self._hook(name, self._on_shard(state, counter))
        self._hook('on_socket_event_type', self._on_event)

    async def report(self):
        """Sends one report of every shard this process has seen now; returns True when Glance took it."""
        if not self.states:
            return False
        return await self._send(f'/api/clusters/{self.cluster}/report', self._body)

    async def stop(self, state=None):
        """Ends the periodic report and /gateway/bot (events are ignored from now on); with a state, reports every
        shard in it first. Closes the HTTP session. Never raises."""
        self.stopped = True
        for task in (self.task, self.gateway_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self.task = self.gateway_task = None
        if state is not None:
            for shard_id in self.states:
                self.states[shard_id] = state
            await self.report()
        async with self.lock:
            if self.session is not None:
                await self.session.close()
                self.session = None

    def _on_shard(self, state, counter):
        async def handler(shard_id, *_):
            if self.stopped:
                return
            now = self.states[shard_id] = state()
            if counter:
                self._count(shard_id)[counter] += 1
            if self.task is None:  # the first event: the loops run now (the client is logged in)
                loop = asyncio.get_running_loop()
                self.task = loop.create_task(self._every(self.interval, self.report))
                self.gateway_task = loop.create_task(self._every(self.gateway_interval, self.report_gateway, True))
            # sent at once with the shard's counters: a resume or a disconnect is seen without waiting
            self._count_events()
            await self._send(f'/api/status/{self.cluster}/{shard_id}/{now}', lambda: dict(self._count(shard_id)))

        return handler

    async def _on_event(self, _event_type):
        if not self.stopped:
            self._count_events()

    def _count(self, shard_id):
        return self.counters.setdefault(shard_id, dict.fromkeys(COUNTERS, 0))

    # discord.py 2.2 tells on_socket_event_type no shard, so a shard's events are read from its session's sequence
    # number, which Discord raises by one at each dispatch (READY is 1): the growth since the last look is added,
    # all of a new session's numbers once its session id changes. Looked at on every event and every report, so
    # an invalid session (which drops the number) loses only what came since the last look. ShardInfo has no public
    # way to the sequence: _parent.ws is discord.py 2.2's Shard and its DiscordWebSocket.
    def _count_events(self):
        for shard_id in self.states:
            ws = getattr(getattr(self.client.get_shard(shard_id), '_parent', None), 'ws', None)
            session, sequence = getattr(ws, 'session_id', None), getattr(ws, 'sequence', None)
            if session is None or sequence is None:
                continue
            last_session, last = self.sequences.get(shard_id, (None, 0))
            if session != last_session:
                last = 0
            if sequence > last:
                self._count(shard_id)['events'] += sequence - last
                self.sequences[shard_id] = (session, sequence)

    async def report_gateway(self):
        """Sends the bot's session_start_limit from Discord's /gateway/bot to Glance; returns True when Glance took
        it. A failure is logged; the next hour asks again. (http.get_bot_gateway drops session_start_limit, so the
        route is asked directly.)"""
        if self.client.http.token is None:  # not logged in: nothing to ask with
            return False
        try:
            data = await self.client.http.request(discord.http.Route('GET', '/gateway/bot'))
            limit = data['session_start_limit']
            total, remaining = int(limit['total']), int(limit['remaining'])
            reset_after, max_concurrency = float(limit['reset_after']), int(limit['max_concurrency'])
        except asyncio.CancelledError:
            raise
        except Exception as err:  # discord.HTTPException, a malformed answer, anything: never into the bot
            log.warning('glance: GET /gateway/bot: %s %s (asked again in an hour)', type(err).__name__, err)
            return False
        if reset_after > MAX_RESET_AFTER_MS:
            log.warning('glance: reset_after %s ms capped at 7 days', reset_after)
        body = {'session_start_total': total, 'session_start_remaining': min(remaining, total),
                'session_start_reset_after_ms': round(min(max(reset_after, 0), MAX_RESET_AFTER_MS)),
                'max_concurrency': max_concurrency}
        return await self._send(f'/api/clusters/{self.cluster}/gateway', lambda: body)

    def _hook(self, name, handler):
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

    @staticmethod
    async def _every(seconds, fn, now=False):
        if now:
            await fn()
        while True:
            await asyncio.sleep(seconds)
            await fn()

    # every shard's state, figures and counters; latency only while online (a shard that is not keeps its last one)
    def _body(self):
        self._count_events()
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
                    'members': min(members, MAX_MEMBERS), **self._count(shard_id)}
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
