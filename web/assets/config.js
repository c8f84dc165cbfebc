// config.js -- the operator's settings for this page; edit this file, not index.html.
// Every entry is optional: delete or comment out what you do not need.
window.GLANCE_CONFIG = {
  // The name in the header and the browser tab.
  // title: 'Foxbot status',

  // Your branding, shown in the header: a name, a link and a small logo (an image on this server).
  // brand: { name: 'foxbot.me', url: 'https://foxbot.me', logo: 'assets/logo.svg' },

  // Where the live feed is, when it is not this page's own host at /api/feed (ws: or wss:).
  // feedUrl: 'wss://status.example.com/api/feed',

  // Where the API is, when it is not this page's own host (each shard's story, the history, the incidents
  // and the Atom feed's link).
  // apiUrl: 'https://status.example.com',

  // Whether shards pulse on health checks for a visitor who has not chosen yet (they can change it).
  // pulseByDefault: true,
};
