"""gateway_bot.py -- a discord.py 2.2 bot with the Glance adapter, logged in to the fake Discord of
tests/integration/fake_gateway.mjs; gateway_adapters.test.mjs runs it and drives the fake.

Environment: FAKE_API (the fake's http://127.0.0.1:port/api), FAKE_GATEWAY (its ws://127.0.0.1:port/), GLANCE_URL,
GLANCE_PASSPHRASE, GLANCE_CLUSTER, GLANCE_INTERVAL and GLANCE_GATEWAY_INTERVAL (seconds). It runs until its stdin
closes, then stops the adapter and the client and exits 0.
"""

import asyncio
import logging
import os
import sys

import discord
import yarl

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'examples', 'discord.py'))
import glance  # noqa: E402

# discord.py 2.2 takes REST from Route.BASE, and connects to DiscordWebSocket.DEFAULT_GATEWAY after an invalid session
# (the /gateway/bot URL only at start, resume_gateway_url for a resume): both are pointed at the fake
discord.http.Route.BASE = os.environ['FAKE_API'] + '/v10'
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ['FAKE_GATEWAY'])


async def main():
    # no shard_count: discord.py asks /gateway/bot for it and its URL, as an autosharded bot does
    client = discord.AutoShardedClient(intents=discord.Intents.default(), guild_ready_timeout=0.2)
    reporter = glance.Glance(client, url=os.environ['GLANCE_URL'], cluster=os.environ['GLANCE_CLUSTER'],
                             passphrase=os.environ.get('GLANCE_PASSPHRASE'),
                             interval=float(os.environ.get('GLANCE_INTERVAL', '0.2')),
                             gateway_interval=float(os.environ.get('GLANCE_GATEWAY_INTERVAL', '3600')))
    loop = asyncio.get_running_loop()
    stdin_closed = loop.create_future()

    def on_stdin():  # the test closes our stdin to stop us (and so does its death)
        if not os.read(sys.stdin.fileno(), 4096) and not stdin_closed.done():
            stdin_closed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    async with client:
        bot = loop.create_task(client.start('any-token'))
        await asyncio.wait([bot, stdin_closed], return_when=asyncio.FIRST_COMPLETED)
        loop.remove_reader(sys.stdin.fileno())
        await reporter.stop()
        await client.close()
        await asyncio.gather(bot, return_exceptions=True)
        if bot.done() and bot.exception() is not None:
            raise bot.exception()


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, format='%(name)s %(levelname)s %(message)s')
    asyncio.run(main())
