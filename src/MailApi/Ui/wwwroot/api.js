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

/** The filters the list API takes, in the order the form shows them. */
export const filterNames = ['status', 'to', 'from', 'tag', 'queueId', 'createdAfter', 'createdBefore'];

export function listMessages(filters, cursor, options) {
  const query = new URLSearchParams();
  for (const name of filterNames) {
    if (filters[name]) {
      query.set(name, filters[name]);
    }
  }
  query.set('limit', '50');
  if (cursor) {
    query.set('cursor', cursor);
  }
  return request(`/v1/messages?${query}`, options);
}

const byId = id => `/v1/messages/${encodeURIComponent(id)}`;

export const getMessage = (id, options) => request(byId(id), options);
export const getEvents = (id, options) => request(`${byId(id)}/events`, options);
export const getDeliveries = (id, options) => request(`${byId(id)}/deliveries`, options);
export const listWebhooks = options => request('/v1/webhooks', options);
export const cancelMessage = id => request(`${byId(id)}/cancel`, { method: 'POST' });

/** The statuses a message never leaves, and those it may still be canceled in (as the API names them). */
export const finalStatuses = new Set(['sent', 'partially_sent', 'failed', 'canceled']);
export const cancelableStatuses = new Set(['scheduled', 'queued', 'deferred']);
