// The MailApi API as the page uses it: the signed-in key (this tab's session storage, nowhere else) and requests
// that turn a problem+json answer into an ApiError carrying its status, title, detail and errors.

const keyItem = 'mailapi.apiKey';

export const session = {
  get key() { return sessionStorage.getItem(keyItem); },
  signIn(key) { sessionStorage.setItem(keyItem, key); },
  signOut() { sessionStorage.removeItem(keyItem); },
};

/** An answer other than 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `The service answered ${status}.`);
    this.status = status;
    this.problem = problem ?? {};
  }

  /** The message and, for a 400, every field's errors, as one line a person can read. */
  describe() {
    const errors = Object.entries(this.problem.errors ?? {}).map(([field, list]) => `${field || 'body'}: ${list.join(' ')}`);
    return [this.message, ...errors].join(' ');
  }
}

/** Printable ASCII without spaces: what an HTTP header can carry (anything else could never be a key). */
export const isKeyShaped = key => /^[\x21-\x7e]+$/.test(key);

export async function request(path, { method = 'GET', key = session.key, signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: { 'X-Api-Key': key ?? '', Accept: 'application/json' },
      cache: 'no-store',
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') {
      throw error;
    }
    throw new ApiError(0, { title: 'No answer', detail: `The service did not answer (${error.message}). Is it running?` });
  }
  const body = (response.headers.get('content-type') ?? '').includes('json') ? await response.json() : null;
  if (!response.ok) {
    throw new ApiError(response.status, body);
  }
  return body;
}

/** The filters the messages list API takes, in the order the form shows them. */
export const filterNames = ['status', 'to', 'from', 'tag', 'queueId', 'createdAfter', 'createdBefore'];

/** The filters the suppression list API takes. */
export const suppressionFilterNames = ['reason', 'address'];

/** The query of one page of a list: the filters that are set, in order, then the cursor (when not the newest page). */
export function pageQuery(names, filters, cursor) {
  const query = new URLSearchParams();
  for (const name of names) {
    if (filters[name]) {
      query.set(name, filters[name]);
    }
  }
  if (cursor) {
    query.set('cursor', cursor);
  }
  return query;
}

/** One page of a list API, 50 items at the most (the page never asks for more). */
function listPage(path, names, filters, cursor, options) {
  const query = pageQuery(names, filters, cursor);
  query.set('limit', '50');
  return request(`${path}?${query}`, options);
}

export const listMessages = (filters, cursor, options) => listPage('/v1/messages', filterNames, filters, cursor, options);
export const listSuppressions = (filters, cursor, options) =>
  listPage('/v1/suppressions', suppressionFilterNames, filters, cursor, options);
export const deleteSuppression = address => request(`/v1/suppressions/${encodeURIComponent(address)}`, { method: 'DELETE' });

const byId = id => `/v1/messages/${encodeURIComponent(id)}`;

export const getMessage = (id, options) => request(byId(id), options);
export const getEvents = (id, options) => request(`${byId(id)}/events`, options);
export const getDeliveries = (id, options) => request(`${byId(id)}/deliveries`, options);
export const listWebhooks = options => request('/v1/webhooks', options);
export const cancelMessage = id => request(`${byId(id)}/cancel`, { method: 'POST' });

/** The statuses a message never leaves, and those it may still be canceled in (as the API names them). */
export const finalStatuses = new Set(['sent', 'partially_sent', 'failed', 'canceled', 'bounced']);
export const cancelableStatuses = new Set(['scheduled', 'queued', 'deferred']);
