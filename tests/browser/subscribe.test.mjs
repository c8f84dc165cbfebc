// subscribe.test.mjs -- "Get notified" on the dashboard, in Debian's Chromium against the real stack (redis-server,
// glance-api, and discord.mjs's fake Discord on loopback as the webhook origin): a visitor pastes a webhook URL and
// a server id, the channel gets the confirmation, and the page says so in place with the management link; the
// clusters the feed named become a choice; a webhook Discord no longer has is refused with the server's words;
// with script off the same form posts to /subscribe and the answer is a page. axe-core clean, at 1280 px light and
// at 360 px dark, with the answer shown.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRedis, startApi, cleanup } from '../integration/harness.mjs';
import { startDiscord } from '../integration/discord.mjs';
import { launch, newPage, closeBrowsers, waitLive, audit } from './browser.mjs';

const GUILD = '81384788765712384';

let rds;
let api;
let discord;
let browser;

before(async () => {
  rds = await startRedis();
  discord = await startDiscord();
  api = await startApi({ redisPort: rds.port, bots: 'main:360;eu:16', env: { GLANCE_SUBSCRIBE_ORIGINS: discord.base } });
  browser = await launch();
});

after(async () => {
  await closeBrowsers();
  await api?.stop();
  await rds?.stop();
  await discord?.close();
  await cleanup();
});

const sentTo = (url) => [...discord.messages.values()].filter((m) => m.webhookId === discord.idOf(url));

describe('Get notified', { timeout: 120000 }, () => {
  for (const [width, colorScheme] of [[1280, 'light'], [360, 'dark']]) {
    it(`subscribes a channel to a server's shard and says where to manage it, at ${width} px (${colorScheme})`, async (t) => {
      const page = await newPage(browser, { width, height: 900, colorScheme });
      try {
        await page.goto(api.url);
        await waitLive(page);
        // the feed named two clusters: they are a choice now
        assert.deepEqual(await page.$$eval('#subscribe-form input[name="cluster"]', (els) => els.map((e) => e.value)), ['main', 'eu']);
        const url = discord.url();
        await page.fill('#webhook-url', url);
        await page.fill('#subscribe-form input[name="guild"]', `https://discord.com/channels/${GUILD}/1/2`);
        await page.click('#subscribe-form button[type="submit"]');
        await page.waitForSelector('#subscribe-result[data-kind="done"]');
        const said = await page.textContent('#subscribe-result');
        assert.match(said, /Subscribed: the channel got a confirmation, and will be told about server 81384788765712384 \(shard 298 of main, shard 2 of eu\)/);
        const link = await page.getAttribute('#subscribe-result a', 'href');
        assert.match(link, new RegExp(`^${api.url}/subscription/\\d+-[0-9a-f]{32}$`));
        assert.equal(sentTo(url).length, 1, 'one confirmation in the channel');
        assert.ok(sentTo(url)[0].embeds[0].description.includes(link));
        assert.equal(await page.inputValue('#webhook-url'), '', 'the URL is not left on the page');
        // the link is a page of its own, which the visitor can open at once
        const manage = await browser.newPage();
        await manage.goto(link);
        assert.match(await manage.textContent('main'), /about server 81384788765712384/);
        await manage.close();
        const found = await audit(page);
        for (const line of found) t.diagnostic(line);
        assert.deepEqual(found, []);
        assert.deepEqual(page.problems, []);
      } finally {
        await page.context().close();
      }
    });
  }

  it('chooses clusters, and says in place why a webhook Discord no longer has is refused', async () => {
    const page = await newPage(browser, { width: 360, height: 900 });
    try {
      await page.goto(api.url);
      await waitLive(page);
      const url = discord.url();
      await page.fill('#webhook-url', url);
      await page.check('#subscribe-form input[name="cluster"][value="eu"]');
      await page.click('#subscribe-form button[type="submit"]');
      await page.waitForSelector('#subscribe-result[data-kind="done"]');
      assert.match(await page.textContent('#subscribe-result'), /told about cluster eu\./);
      const gone = discord.url();
      discord.deleteWebhook(discord.idOf(gone));
      await page.fill('#webhook-url', gone);
      await page.click('#subscribe-form button[type="submit"]');
      await page.waitForSelector('#subscribe-result[data-kind="error"]');
      assert.match(await page.textContent('#subscribe-result'), /Not subscribed: the webhook answered 404 to the confirmation/);
      // the server's 400 is the answer the page shows, not a fault of the page
      page.problems = page.problems.filter((p) => !/status of 400/.test(p));
      assert.deepEqual(page.problems, []);
    } finally {
      await page.context().close();
    }
  });

  it('works with script off: the form posts to /subscribe and the answer is a page', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 800 } });
    try {
      const page = await context.newPage();
      await page.goto(api.url);
      const url = discord.url();
      await page.fill('#webhook-url', url);
      await page.check('#subscribe-form input[name="scope"][value="all"]');
      await Promise.all([page.waitForURL(`${api.url}/subscribe`), page.click('#subscribe-form button[type="submit"]')]);
      assert.equal(await page.textContent('h1'), 'Subscribed');
      assert.match(await page.textContent('main'), /about the whole bot/);
      assert.equal(sentTo(url).length, 1);
    } finally {
      await context.close();
    }
  });
});
