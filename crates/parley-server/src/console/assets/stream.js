// The live event stream, GET /parley/v1/Events (server-sent events). EventSource cannot send
// an Authorization header, so this reads the stream with fetch() and parses the SSE framing
// itself. One connection per logged-in tab; views subscribe to what they show. After a
// reconnection every subscriber sees `ready` again and reloads what it may have missed.

import { authHeader } from './api.js';

const listeners = new Set();
const statusListeners = new Set();
let controller = null;
let status = 'closed';

function setStatus(s) {
  status = s;
  for (const fn of statusListeners) fn(s);
}

/** fn({event, id, conversation_sid, data}) for every event of the account. */
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** fn('connecting' | 'live' | 'closed') whenever the connection changes. */
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(status);
  return () => statusListeners.delete(fn);
}

function dispatch(frame) {
  let payload = {};
  if (frame.data) {
    try {
      payload = JSON.parse(frame.data);
    } catch {
      payload = { data: frame.data };
    }
  }
  const ev = {
    event: frame.event || payload.event || 'message',
    id: frame.id,
    conversation_sid: payload.conversation_sid || null,
    data: payload.data || payload,
  };
  for (const fn of [...listeners]) {
    try {
      fn(ev);
    } catch (e) {
      console.error('live event handler failed', e);
    }
  }
}

/** Parses SSE text: frames end at a blank line; `:` lines are keep-alive comments. */
export function parseFrames(buffer, emit) {
  // A chunk may end between the \r and \n of one line break: keep that \r for the next.
  const cut = buffer.endsWith('\r') ? buffer.length - 1 : buffer.length;
  const normalized = buffer.slice(0, cut).replace(/\r\n?/g, '\n');
  const blocks = normalized.split('\n\n');
  const rest = blocks.pop() + buffer.slice(cut);
  for (const block of blocks) {
    const frame = { event: '', data: '', id: '' };
    const data = [];
    for (const line of block.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') frame.event = value;
      else if (field === 'id') frame.id = value;
    }
    frame.data = data.join('\n');
    if (frame.event || frame.data) emit(frame);
  }
  return rest;
}

async function readOnce(signal) {
  const resp = await fetch('/parley/v1/Events', {
    headers: { Accept: 'text/event-stream', ...authHeader() },
    credentials: 'omit',
    cache: 'no-store',
    signal,
  });
  if (resp.status === 401) throw Object.assign(new Error('unauthorized'), { fatal: true });
  if (!resp.ok || !resp.body) throw new Error(`event stream answered ${resp.status}`);
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = parseFrames(buffer + value, (frame) => {
      if (frame.event === 'ready') setStatus('live');
      dispatch(frame);
    });
  }
}

/** Opens the stream and keeps it open (with backoff) until stop(). */
export function start({ onUnauthorized = () => {} } = {}) {
  stop();
  const ctl = new AbortController();
  controller = ctl;
  (async () => {
    let delay = 500;
    while (!ctl.signal.aborted) {
      setStatus('connecting');
      try {
        await readOnce(ctl.signal);
        delay = 500;
      } catch (e) {
        if (ctl.signal.aborted) break;
        if (e.fatal) {
          onUnauthorized();
          break;
        }
      }
      if (ctl.signal.aborted) break;
      setStatus('connecting');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
    if (controller === ctl) setStatus('closed');
  })();
}

export function stop() {
  if (controller) controller.abort();
  controller = null;
  setStatus('closed');
}
