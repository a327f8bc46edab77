// A message's recipients: each one's status, the relay's reply to its RCPT TO (or why it was not offered), and beside
// it the delivery report the recipient's server sent later (a bounce, a delay or a complaint), in the report's words.

import { codeClass, h, statusBadge, time } from './dom.js';

/** A reply on one line: code, enhanced code, text (a multi-line text keeps its line breaks). */
export function reply(r) {
  return h('span', { class: `reply ${codeClass(r.code)}` },
    h('span', { class: 'code' }, String(r.code)), ' ', r.enhancedCode ? `${r.enhancedCode} ` : '', r.text);
}

export function recipients(items) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'recipients' },
    h('caption', { class: 'visually-hidden' }, 'Each envelope recipient and the relay\'s reply to its RCPT TO, or why it was not offered, and any report on it from later'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Recipient'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Reply'))),
    h('tbody', {}, items.map(r => h('tr', {},
      h('th', { scope: 'row', class: 'address' }, r.address),
      h('td', { 'data-label': 'Status' }, statusBadge(r.status)),
      h('td', { 'data-label': 'Reply' }, r.reply ? reply(r.reply)
        : r.suppression ? suppressed(r.address, r.suppression) : h('span', { class: 'none' }, 'none yet'),
      r.bounce ? report(r.bounce) : null))))));
}

/** A recipient never offered to the relay: why (its suppression-list entry's reason) and since when, with the entry. */
const suppressed = (address, s) => h('span', { class: 'suppression' }, 'Not offered: ',
  h('a', { href: `#/suppressions?address=${encodeURIComponent(address)}` }, 'on the suppression list'),
  ' as ', h('strong', { class: 'reason' }, s.reason.replaceAll('_', ' ')), ' since ', time(s.since));

const reportNames = { failed: 'Bounced', delayed: 'Delayed', complaint: 'Complaint' };

/** The report a recipient's server sent after the relay took the message: action, status, class, diagnostic, MTAs, when. */
const report = b => h('p', { class: `bounce bounce-${b.action}`, 'data-action': b.action },
  h('strong', { class: 'action' }, reportNames[b.action] ?? b.action), ': ',
  b.status ? [h('span', { class: 'dsn-status' }, b.status), ', '] : null,
  'class ', h('strong', { class: 'bounce-class', 'data-class': b.class }, b.class),
  b.diagnostic ? [' · ', h('span', { class: 'diagnostic' }, b.diagnostic)] : null,
  b.reportingMta ? [' · reported by ', h('span', { class: 'mta' }, b.reportingMta)] : null,
  b.remoteMta ? [' · remote MTA ', h('span', { class: 'mta' }, b.remoteMta)] : null,
  ' · ', time(b.at));
