// The activity page: signing in, the three views (#/messages?filters, #/messages/{id} and #/suppressions?filters)
// and the live refresh.

import { ApiError, isKeyShaped, listMessages, session } from './api.js';
import { byId, showProblem } from './dom.js';
import { ListView } from './messages.js';
import { MessageView } from './message.js';
import { SuppressionsView } from './suppressions.js';

/** How often a view with messages that are not final asks again (paused while the tab is hidden). */
const refreshEvery = 2000;

const views = {
  signIn: byId('sign-in'), list: byId('list-view'), suppressions: byId('suppressions-view'), message: byId('message-view'),
};
let current = null;
let lastListHash = '#/messages';
let timer = null;

/** A 401 means the key is no longer accepted: back to signing in, saying why. True when it handled the error. */
function onProblem(error) {
  if (error instanceof ApiError && error.status === 401) {
    signOut('The API key was not accepted any more (401). Sign in again.');
    return true;
  }
  return false;
}

const list = new ListView(onProblem);
const suppressions = new SuppressionsView(onProblem);
const message = new MessageView(onProblem);

/** The lists the navigation leads to, by their address: the view, its section, its heading and its link. */
const lists = {
  '/messages': { view: list, element: views.list, title: 'Messages', heading: 'list-title', link: 'nav-messages' },
  '/suppressions': {
    view: suppressions, element: views.suppressions, title: 'Suppressions', heading: 'suppressions-title', link: 'nav-suppressions',
  },
};

function showOnly(view) {
  for (const element of Object.values(views)) {
    element.hidden = element !== view;
  }
  byId('sign-out').hidden = view === views.signIn;
  byId('views-nav').hidden = view === views.signIn;
  for (const { element, link } of Object.values(lists)) {
    if (element === view) {
      byId(link).setAttribute('aria-current', 'page');
    } else {
      byId(link).removeAttribute('aria-current');
    }
  }
}

async function route() {
  clearTimeout(timer);
  if (!session.key) {
    showSignIn();
    return;
  }
  const [path, query = ''] = (location.hash.slice(1) || '/messages').split('?');
  const id = /^\/messages\/([0-9a-fA-F-]{36})$/.exec(path)?.[1];
  if (id) {
    showOnly(views.message);
    current = message;
    document.title = 'Message · MailApi activity';
    byId('back').textContent = lastListHash.startsWith('#/suppressions') ? 'Back to suppressions' : 'Back to messages';
    await message.show(id, lastListHash);
  } else {
    const target = lists[path] ?? lists['/messages'];
    lastListHash = location.hash || '#/messages';
    const arriving = current !== null && current !== target.view;
    for (const view of [message, list, suppressions]) {
      if (view !== target.view) {
        view.leave();
      }
    }
    showOnly(target.element);
    current = target.view;
    document.title = `${target.title} · MailApi activity`;
    await target.view.show(new URLSearchParams(query));
    if (arriving) {
      // From a message or the other list: keyboard and screen reader users start at this list, not at the top of the page.
      byId(target.heading).focus();
    }
  }
  schedule();
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if (session.key && !document.hidden && current?.wantsRefresh) {
      await current.refresh();
    }
    if (session.key) {
      schedule();
    }
  }, refreshEvery);
}

function showSignIn(problem) {
  current = null;
  for (const view of [message, list, suppressions]) {
    view.leave();
  }
  showOnly(views.signIn);
  document.title = 'Sign in · MailApi activity';
  showProblem(byId('sign-in-error'), problem);
  byId('api-key').setAttribute('aria-invalid', problem ? 'true' : 'false');
  byId('api-key').focus();
}

function signOut(problem) {
  clearTimeout(timer);
  session.signOut();
  showSignIn(problem);
}

byId('sign-in-form').addEventListener('submit', async event => {
  event.preventDefault();
  const input = byId('api-key');
  const key = input.value.trim();
  if (!key) {
    showSignIn('Enter an API key.');
    return;
  }
  if (!isKeyShaped(key)) {
    showSignIn('That is not an API key: a key is printable ASCII without spaces.');
    return;
  }
  const button = event.submitter ?? byId('sign-in-form').querySelector('button');
  button.disabled = true;
  try {
    // The cheapest call that needs a key: one summary of its own messages.
    await listMessages({}, null, { key });
    session.signIn(key);
    input.value = '';
    showProblem(byId('sign-in-error'), null);
    await route();
    byId('main').focus();
  } catch (error) {
    showSignIn(error instanceof ApiError && error.status === 401
      ? `This API key was not accepted (401 Unauthorized): ${error.message}`
      : `Could not sign in: ${error.describe?.() ?? error.message}`);
  } finally {
    button.disabled = false;
  }
});

byId('sign-out').addEventListener('click', () => signOut(null));
window.addEventListener('hashchange', route);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && current) {
    schedule();
  }
});

route();
