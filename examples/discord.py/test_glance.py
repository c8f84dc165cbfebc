"""test_glance.py -- the discord.py adapter against a real Glance replica, driven by discord.py's own client objects.

tests/integration/examples.test.mjs starts Redis and a replica and runs this file with GLANCE_URL,
GLANCE_PASSPHRASE and GLANCE_CLUSTERS (three clusters of 2 shards each, used by no one else). No network to Discord:
the clients never log in; events go through client.dispatch, guilds through the client's own connection state.
"""

import asyncio
import logging
import os
import sys
import unittest

import aiohttp
import aiohttp.web
import discord
from discord.ext import commands

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import glance  # noqa: E402

URL = os.environ.get('GLANCE_URL')
PASSPHRASE = os.environ.get('GLANCE_PASSPHRASE')
CLUSTERS = os.environ.get('GLANCE_CLUSTERS', '').split(',')


def guild_id(shard_id, n):
    """A guild id that discord.py (and Glance) place on shard_id of 2: (id >> 22) % 2."""
    return str((2 * n + shard_id) << 22)


@unittest.skipUnless(URL and len(CLUSTERS) >= 3, 'run by tests/integration/examples.test.mjs (needs GLANCE_URL)')
class AgainstReplica(unittest.IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        self.http = aiohttp.ClientSession()

    async def asyncTearDown(self):
        await self.http.close()

    async def shard(self, cluster, shard_id):
        async with self.http.get(f'{URL}/api/status/{cluster}/{shard_id}') as res:
            self.assertEqual(res.status, 200, await res.text())
            return await res.json()

    async def until_state(self, cluster, shard_id, state):
        for _ in range(100):
            got = (await self.shard(cluster, shard_id))['state']
            if got == state:
                return
            await asyncio.sleep(0.05)
        self.fail(f'{cluster} shard {shard_id}: state {got}, expected {state}')

    def client(self):
        return discord.AutoShardedClient(intents=discord.Intents.default(), shard_ids=[0, 1], shard_count=2)

    async def test_shard_events_become_states_and_the_clients_own_handler_still_runs(self):
        cluster = CLUSTERS[0]
        client = self.client()
        seen = []

        @client.event
        async def on_shard_ready(shard_id):
            seen.append(shard_id)

        async with client:
            reporter = glance.Glance(client, url=URL, cluster=cluster, passphrase=PASSPHRASE, interval=60)
            client.dispatch('shard_connect', 0)
            client.dispatch('shard_connect', 1)
            await self.until_state(cluster, 0, glance.STARTING)
            await self.until_state(cluster, 1, glance.STARTING)
            client.dispatch('shard_ready', 0)
            await self.until_state(cluster, 0, glance.ONLINE)
            self.assertEqual(seen, [0])
            client.dispatch('shard_disconnect', 1)  # the client is open: discord.py reconnects by itself
            await self.until_state(cluster, 1, glance.RESUMING)
            client.dispatch('shard_resumed', 1)
            await self.until_state(cluster, 1, glance.ONLINE)
            await client.close()
            client.dispatch('shard_disconnect', 0)  # closed: this one stays down
            await self.until_state(cluster, 0, glance.OFFLINE)
            await reporter.stop()
        self.assertEqual((await self.shard(cluster, 1))['state'], glance.ONLINE)

    async def test_one_report_carries_every_shards_state_latency_and_guilds(self):
        cluster = CLUSTERS[1]
        bot = commands.AutoShardedBot(command_prefix='!', intents=discord.Intents.default(),
                                      shard_ids=[0, 1], shard_count=2)
        async with bot:
            state = bot._connection  # the guilds come in as READY and GUILD_CREATE would put them
            for n in range(3):
                state._add_guild_from_data({'id': guild_id(0, n), 'name': f'a{n}', 'member_count': 10 + n})
            state._add_guild_from_data({'id': guild_id(1, 0), 'name': 'b', 'member_count': 7})
            state._add_guild_from_data({'id': guild_id(1, 1), 'unavailable': True})
            latencies = {0: 0.0414, 1: float('inf')}
            reporter = glance.Glance(bot, url=URL, cluster=cluster, passphrase=PASSPHRASE, interval=60,
                                     latency=latencies.get)
            bot.dispatch('shard_ready', 0)
            bot.dispatch('shard_connect', 1)
            await self.until_state(cluster, 1, glance.STARTING)
            self.assertIs(await reporter.report(), True)
            figures = (await self.shard(cluster, 0))['figures']
            self.assertEqual({k: figures[k] for k in ('latency_ms', 'guilds', 'unavailable_guilds', 'members')},
                             {'latency_ms': 41, 'guilds': 3, 'unavailable_guilds': 0, 'members': 33})
            figures = (await self.shard(cluster, 1))['figures']  # starting: no latency, the other figures
            self.assertEqual({k: figures[k] for k in ('latency_ms', 'guilds', 'unavailable_guilds', 'members')},
                             {'latency_ms': None, 'guilds': 2, 'unavailable_guilds': 1, 'members': 7})

            # the report says what the bot knows, whatever Glance was told in between
            async with self.http.post(f'{URL}/api/status/{cluster}/0/{glance.UNHEALTHY}',
                                      headers={'Authorization': PASSPHRASE}) as res:
                self.assertEqual(res.status, 204)
            self.assertIs(await reporter.report(), True)
            self.assertEqual((await self.shard(cluster, 0))['state'], glance.ONLINE)
            await reporter.stop(state=glance.STOPPING)
        self.assertEqual([(await self.shard(cluster, i))['state'] for i in (0, 1)], [glance.STOPPING] * 2)

    async def test_the_interval_reports_with_the_librarys_own_latency(self):
        cluster = CLUSTERS[2]
        client = self.client()
        async with client:
            reporter = glance.Glance(client, url=URL, cluster=cluster, passphrase=PASSPHRASE, interval=0.1)
            self.assertIsNone(client.get_shard(0))  # never connected: no latency to give
            client.dispatch('shard_ready', 0)
            for _ in range(60):
                figures = (await self.shard(cluster, 0))['figures']
                if figures:
                    break
                await asyncio.sleep(0.05)
            self.assertEqual({k: figures[k] for k in ('latency_ms', 'guilds', 'unavailable_guilds', 'members')},
                             {'latency_ms': None, 'guilds': 0, 'unavailable_guilds': 0, 'members': 0})
            await reporter.stop()
            self.assertIsNone(reporter.task)


class WithoutGlance(unittest.IsolatedAsyncioTestCase):
    async def test_failures_never_reach_the_bot_are_logged_once_and_stop_ends_the_reports(self):
        hits = []

        async def refuse(request):
            hits.append(request.path)
            return aiohttp.web.json_response({'error': 'redis is unreachable'}, status=503)

        app = aiohttp.web.Application()
        app.router.add_route('POST', '/{tail:.*}', refuse)
        runner = aiohttp.web.AppRunner(app)
        await runner.setup()
        site = aiohttp.web.TCPSite(runner, '127.0.0.1', 0)
        await site.start()
        port = runner.addresses[0][1]
        errors = []
        client = discord.AutoShardedClient(intents=discord.Intents.default(), shard_ids=[0, 1], shard_count=2)

        async def on_error(event, *args, **kwargs):
            errors.append((event, sys.exc_info()))

        client.on_error = on_error
        try:
            async with client:
                with self.assertLogs('glance', logging.WARNING) as logs:
                    reporter = glance.Glance(client, url=f'http://127.0.0.1:{port}', cluster='main', interval=0.05)
                    client.dispatch('shard_ready', 0)
                    client.dispatch('shard_ready', 1)
                    await asyncio.sleep(0.4)
                    self.assertIs(await reporter.report(), False)
                    await reporter.stop()
                    count = len(hits)
                    client.dispatch('shard_ready', 0)  # stopped: ignored
                    await asyncio.sleep(0.2)
                    self.assertEqual(len(hits), count)
                    gone = glance.Glance(client, url=f'http://127.0.0.1:{free_port()}', cluster='main')
                    gone.states[0] = glance.ONLINE
                    self.assertIs(await gone.report(), False)
                    self.assertIs(await gone.report(), False)
                    await gone.stop()
        finally:
            await runner.cleanup()
        self.assertEqual(errors, [])
        self.assertIn('/api/status/main/0/3', hits)
        self.assertIn('/api/clusters/main/report', hits)
        self.assertGreaterEqual(hits.count('/api/clusters/main/report'), 3)  # every 50 ms for 400 ms, at least
        self.assertEqual(len(logs.records), 2, [r.getMessage() for r in logs.records])  # 503 once, refused once
        self.assertIn('HTTP 503', logs.records[0].getMessage())
        self.assertIn('ClientConnectorError', logs.records[1].getMessage())


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


if __name__ == '__main__':
    unittest.main(verbosity=2)
