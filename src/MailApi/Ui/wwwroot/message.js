// One message: what it is, each recipient's reply and any later report on it (recipients.js), every attempt's SMTP
// dialogue as it went (the client's lines and the relay's, reply codes coloured by class, multi-line replies line by
// line, AUTH as the service stored it), the events timeline with what became of each event's webhook deliveries, and
// Cancel while it waits. Read again while the message is not final or a delivery is still pending.

import { cancelableStatuses, cancelMessage, finalStatuses, getDeliveries, getEvents, getMessage, listWebhooks } from './api.js';
import { announce, byId, codeClass, h, showProblem, statusBadge, time } from './dom.js';
import { recipients, reply } from './recipients.js';

export class MessageView {
  #id = null;
  #message = null;
  #events = [];
  #deliveries = [];
  #endpoints = new Map();
  #confirming = false;
  #onProblem;

  constructor(onProblem) {
    this.#onProblem = onProblem;
  }

  async show(id, backHash) {
    this.#id = id;
    this.#message = null;
    this.#events = [];
    this.#deliveries = [];
    this.#confirming = false;
    byId('back').href = backHash;
    byId('message-title').textContent = 'Message';
    byId('message-body').replaceChildren(h('p', { class: 'empty' }, 'Loading…'));
    showProblem(byId('message-problem'), null);
    await Promise.all([this.#load(), this.#loadEndpoints()]);
    byId('message-title').focus();
  }

  /** The key's webhook endpoints, to name each delivery's target by its url (the delivery carries the id). */
  async #loadEndpoints() {
    try {
      const endpoints = await listWebhooks();
      this.#endpoints = new Map(endpoints.items.map(e => [e.id, e.url]));
      if (this.#message && !this.#confirming) {
        this.#render();
      }
    } catch {
      // The timeline names the endpoint by its id then.
    }
  }

  /** Forgets the message when another view shows: nothing of it stays in the page. */
  leave() {
    this.#id = null;
    this.#message = null;
    byId('message-body').replaceChildren();
  }

  get wantsRefresh() {
    return this.#message !== null
      && (!finalStatuses.has(this.#message.status) || this.#deliveries.some(d => d.status === 'pending'));
  }

  refresh() {
    return this.#load();
  }

  async #load() {
    const id = this.#id;
    try {
      const [message, events, deliveries] = await Promise.all([getMessage(id), getEvents(id), getDeliveries(id)]);
      if (id !== this.#id) {
        return;
      }
      const before = this.#message;
      const changed = !before || before.updatedAt !== message.updatedAt || this.#events.length !== events.items.length
        || JSON.stringify(this.#deliveries) !== JSON.stringify(deliveries.items);
      this.#message = message;
      this.#events = events.items;
      this.#deliveries = deliveries.items;
      showProblem(byId('message-problem'), null);
      if (changed && !this.#confirming) {
        this.#render();
        if (before && before.status !== message.status) {
          announce(`The message is now ${message.status.replaceAll('_', ' ')}.`);
        }
      }
    } catch (error) {
      if (this.#onProblem(error)) {
        return;
      }
      if (error.status === 404) {
        this.#message = null;
        byId('message-body').replaceChildren();
        showProblem(byId('message-problem'),
          'No such message for this API key. A message is shown only to the key that sent it.');
        return;
      }
      showProblem(byId('message-problem'), `The message could not be read: ${error.describe?.() ?? error.message}`);
    }
  }

  #render() {
    const m = this.#message;
    byId('message-title').textContent = m.subject || '(no subject)';
    byId('message-body').replaceChildren(...[
      summary(m),
      this.#cancelArea(),
      section('recipients', 'Recipients', recipients(m.recipients)),
      section('attempts', 'Attempts', m.attempts.length
        ? m.attempts.map(attempt)
        : h('p', { class: 'empty' }, m.sendAt && m.status === 'scheduled'
          ? 'No attempt yet: the message waits for its send time.'
          : 'No attempt yet.')),
      section('events', 'Events', timeline(this.#events, this.#deliveries, this.#endpoints)),
    ].filter(Boolean));
  }

  #cancelArea() {
    if (!cancelableStatuses.has(this.#message.status)) {
      return null;
    }
    const area = h('div', { class: 'cancel', id: 'cancel-area' });
    const ask = () => {
      this.#confirming = true;
      const yes = h('button', { type: 'button', class: 'danger', onclick: () => this.#cancel(area) }, 'Yes, cancel it');
      area.replaceChildren(
        h('p', { id: 'cancel-question' }, 'Cancel this message? It will not be sent, and this cannot be undone.'),
        yes,
        h('button', { type: 'button', class: 'secondary', onclick: () => { this.#confirming = false; this.#render(); } }, 'No, keep it'),
      );
      yes.focus();
    };
    area.append(h('button', { type: 'button', class: 'danger', onclick: ask }, 'Cancel message'));
    return area;
  }

  async #cancel(area) {
    area.querySelectorAll('button').forEach(b => { b.disabled = true; });
    try {
      this.#message = await cancelMessage(this.#id);
      this.#confirming = false;
      [this.#events, this.#deliveries] = (await Promise.all([getEvents(this.#id), getDeliveries(this.#id)])).map(r => r.items);
      this.#render();
      announce('The message was canceled.');
      byId('message-title').focus();
    } catch (error) {
      this.#confirming = false;
      if (!this.#onProblem(error)) {
        await this.#load();
        this.#render();
        showProblem(byId('message-problem'), `Not canceled: ${error.describe?.() ?? error.message}`);
      }
    }
  }
}

function section(id, title, ...content) {
  return h('section', { id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), ...content);
}

const list = addresses => addresses.length ? addresses.join(', ') : null;

function summary(m) {
  const rows = [
    ['Status', statusBadge(m.status)],
    ['From', m.from],
    ['To', list(m.to)],
    ['Cc', list(m.cc)],
    ['Bcc', list(m.bcc)],
    ['Reply-To', list(m.replyTo)],
    ['Tags', list(m.tags)],
    ['Created', time(m.createdAt)],
    ['Send at', m.sendAt ? time(m.sendAt) : null],
    ['Sent', m.sentAt ? time(m.sentAt) : null],
    ['Next attempt', m.nextAttemptAt ? time(m.nextAttemptAt) : null],
    ['Queue id', h('code', { id: 'queue-id' }, m.queueId ?? '—')],
    ['Final reply', m.finalReply ? reply(m.finalReply) : null],
    ['Relay', m.upstream],
    ['Message-ID', h('code', {}, m.messageId)],
    ['Id', h('code', {}, m.id)],
    ['Possible duplicate', m.possibleDuplicate
      ? 'yes: an attempt lost the relay\'s answer to the end of data, and a later one delivered it'
      : null],
  ];
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    rows.push([`metadata.${key}`, value]);
  }
  return h('dl', { class: 'summary' },
    rows.filter(([, value]) => value !== null && value !== undefined).map(([term, value]) =>
      h('div', {}, h('dt', {}, term), h('dd', {}, value))));
}

function attempt(a) {
  const details = [
    `${a.outcome.replaceAll('_', ' ')}`,
    `to ${a.upstream}`,
    a.connectionId ? `connection ${a.connectionId}${a.reusedConnection ? ' (reused: its greeting, EHLO and AUTH are in the attempt that opened it)' : ''}` : null,
  ].filter(Boolean);
  return h('article', { class: 'attempt', 'aria-labelledby': `attempt-${a.number}` },
    h('h3', { id: `attempt-${a.number}` }, `Attempt ${a.number}`),
    h('p', { class: 'meta' }, time(a.startedAt), ' → ', a.finishedAt ? time(a.finishedAt) : 'not finished', ' · ', details.join(' · ')),
    a.error ? h('p', { class: 'attempt-error' }, h('strong', {}, 'Error: '), a.error) : null,
    a.transcript.length
      ? dialogue(a)
      : h('p', { class: 'empty' }, 'No dialogue: no connection was made.'));
}

/**
 * The dialogue as it went on the wire: each command as the client sent it (the greeting has none), then the relay's
 * reply, every line with its code as RFC 5321 writes it ("250-" before the last line, "250 " on it).
 */
function dialogue(a) {
  const turns = [];
  for (const entry of a.transcript) {
    if (entry.command !== null) {
      turns.push(h('li', { class: 'turn client' },
        h('span', { class: 'speaker', 'aria-hidden': 'true' }, 'C:'), h('span', { class: 'visually-hidden' }, 'MailApi: '),
        h('code', { class: 'line' }, entry.command)));
    }
    if (entry.reply === null) {
      turns.push(h('li', { class: 'turn relay code-none' },
        h('span', { class: 'speaker', 'aria-hidden': 'true' }, 'S:'), h('span', { class: 'visually-hidden' }, 'Relay: '),
        h('span', { class: 'line missing' }, '(no reply: the connection closed or timed out)')));
      continue;
    }
    turns.push(h('li', { class: `turn relay ${codeClass(entry.reply.code)}` },
      h('span', { class: 'speaker', 'aria-hidden': 'true' }, 'S:'), h('span', { class: 'visually-hidden' }, 'Relay: '),
      h('samp', { class: 'line' }, replyLines(entry.reply))));
  }
  return h('ol', { class: 'dialogue', 'aria-label': `Attempt ${a.number}: the SMTP dialogue` }, turns);
}

function replyLines(r) {
  const lines = r.text.split('\n');
  if (r.code === 0) {
    return lines.join('\n');
  }
  return lines.map((line, i) => {
    const separator = i < lines.length - 1 ? '-' : ' ';
    const enhanced = r.enhancedCode && i === 0 ? `${r.enhancedCode} ` : '';
    return `${r.code}${separator}${enhanced}${line}`;
  }).join('\n');
}

function timeline(events, deliveries, endpoints) {
  if (!events.length) {
    return h('p', { class: 'empty' }, 'No events yet.');
  }
  return h('ol', { class: 'timeline' }, events.map(e => {
    const d = e.data;
    const sent = deliveries.filter(x => x.eventId === e.id);
    return h('li', { class: `event event-${d.status}` },
      h('p', { class: 'event-head' }, time(e.timestamp), ' ', h('strong', {}, e.type), ` · #${d.sequence} · attempt ${d.attempt}`),
      d.reply ? h('p', {}, 'Reply: ', reply(d.reply)) : null,
      d.error ? h('p', {}, 'Error: ', d.error) : null,
      d.nextAttemptAt ? h('p', {}, 'Next attempt: ', time(d.nextAttemptAt)) : null,
      d.queueId ? h('p', {}, 'Queue id: ', h('code', {}, d.queueId)) : null,
      sent.length ? h('ul', { class: 'deliveries', 'aria-label': `Webhook deliveries of ${e.type}` },
        sent.map(x => delivery(x, endpoints))) : null);
  }));
}

/** One webhook delivery of an event: where to, how it ended, the receiver's answer to every try. */
function delivery(x, endpoints) {
  const tries = x.attempts.map(a => a.statusCode ?? 'no answer');
  const last = x.attempts.at(-1);
  return h('li', { class: `delivery delivery-${x.status}` },
    'Webhook to ', h('span', { class: 'address' }, endpoints.get(x.endpointId) ?? `endpoint ${x.endpointId}`), ': ',
    h('strong', {}, x.status),
    tries.length ? ` · ${x.attempts.length} ${x.attempts.length === 1 ? 'try' : 'tries'}: ${tries.join(', ')}` : ' · not tried yet',
    last ? ` (last ${last.durationMs} ms)` : '',
    last?.error ? ` · ${last.error}` : '',
    x.nextAttemptAt ? [' · next try ', time(x.nextAttemptAt)] : null);
}
