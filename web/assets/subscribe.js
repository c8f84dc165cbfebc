// subscribe.js -- "Get notified": sends the form to POST /api/subscriptions rather than as a page load, says the
// answer in place (the management link, or why not), and offers the clusters as a scope once the feed has named
// them. Without script the same form posts to /subscribe and the server answers with a page.

export class Subscribe {
  /** `form` is #subscribe-form; `result` the status line inside it. */
  constructor(form, result) {
    this.form = form;
    this.result = result;
    this.clusterNames = [];
    form.addEventListener('submit', (e) => { e.preventDefault(); this.send(); });
  }

  /** The clusters the feed named: with more than one, "these clusters" becomes a choice. */
  setClusters(names) {
    if (names.length < 2 || names.join(',') === this.clusterNames.join(',')) return;
    this.clusterNames = names;
    this.form.querySelector('.subscribe-clusters-choice')?.remove();
    const choice = document.createElement('div');
    choice.className = 'subscribe-clusters-choice';
    const radio = document.createElement('label');
    radio.innerHTML = '<input type="radio" name="scope" value="clusters"> These clusters only:';
    const boxes = document.createElement('div');
    boxes.className = 'subscribe-clusters';
    for (const name of names) {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.id = `subscribe-cluster-${name}`;
      box.name = 'cluster';
      box.value = name;
      box.addEventListener('change', () => { if (box.checked) radio.firstChild.checked = true; });
      label.append(box, ` ${name}`);
      boxes.append(label);
    }
    choice.append(radio, boxes);
    this.form.querySelector('fieldset').append(choice);
  }

  /** What the form says, as the API takes it. */
  body() {
    const data = new FormData(this.form);
    const scope = data.get('scope');
    const body = { webhook_url: String(data.get('webhook_url') || '').trim() };
    if (scope === 'all') body.scope = 'all';
    else if (scope === 'clusters') body.scope = { clusters: data.getAll('cluster').map(String) };
    else body.scope = { guild: String(data.get('guild') || '').trim() };
    return body;
  }

  say(kind, nodes) {
    this.result.dataset.kind = kind;
    this.result.replaceChildren(...nodes);
  }

  async send() {
    const button = this.form.querySelector('button[type="submit"]');
    button.disabled = true;
    this.say('busy', ['Sending a confirmation to the channel…']);
    try {
      const r = await fetch('/api/subscriptions', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(this.body()),
      });
      const answer = await r.json().catch(() => ({}));
      if (r.status === 201) {
        const link = document.createElement('a');
        link.href = answer.manage_url;
        link.textContent = 'this subscription';
        this.say('done', [`Subscribed: the channel got a confirmation, and will be told about ${answer.scope_words}. `,
          'To change or stop it, keep the link to ', link, ' (the channel has it too).']);
        this.form.querySelector('#webhook-url').value = '';
      } else {
        this.say('error', [answer.error ? `Not subscribed: ${answer.error}.` : `Not subscribed (HTTP ${r.status}); try again.`]);
      }
    } catch {
      this.say('error', ['Not subscribed: the dashboard could not be reached; try again.']);
    } finally {
      button.disabled = false;
    }
  }
}
