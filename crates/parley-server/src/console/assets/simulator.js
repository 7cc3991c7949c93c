// The phone simulator: a virtual handset texting a Parley address, drawn as a phone. What
// it shows is the handset's screen as /sim/v1/Messages records it, kept current by
// `onSimMessage` events. The addresses come from the account's address configurations;
// the panel below the phone connects a new address to a flow (auto-creation), as the
// tutorial does.

import { listAll, post } from './api.js';
import { errorBox, h, replace, when } from './dom.js';

const RECENT_KEY = 'parley.sim.handsets';

function recentHandsets() {
  try {
    return JSON.parse(sessionStorage.getItem(RECENT_KEY) || '[]');
  } catch {
    return [];
  }
}

function remember(handset) {
  const list = [handset, ...recentHandsets().filter((x) => x !== handset)].slice(0, 10);
  sessionStorage.setItem(RECENT_KEY, JSON.stringify(list));
}

/** Whether a simulator message belongs to the chat between `handset` and `address`. */
function inChat(m, handset, address) {
  return m.direction === 'inbound' ? m.from === handset && m.to === address : m.to === handset && m.from === address;
}

function bubble(m) {
  return h('li', { class: `bubble ${m.direction}`, dataset: { sid: m.sid, direction: m.direction, status: m.status } },
    h('div', { class: 'text' }, m.body ?? ''),
    Array.isArray(m.media) && m.media.length ? h('div', { class: 'media' }, m.media.map((u) => h('div', { class: 'mono' }, typeof u === 'string' ? u : JSON.stringify(u)))) : null,
    h('div', { class: 'when' }, when(m.date_created), m.status === 'refused' ? ' · refused: nobody takes this address' : ''));
}

function addressForm(flows, onCreated) {
  const address = h('input', { id: 'connect-address', required: true, placeholder: '+12345678901' });
  const type = h('select', { id: 'connect-type' }, ['sms', 'whatsapp'].map((t) => h('option', { value: t }, t)));
  const flow = h('select', { id: 'connect-flow', required: true }, flows.map((f) => h('option', { value: f.sid }, `${f.friendly_name} (${f.status})`)));
  const result = h('div', { class: 'message-area' });
  return h('details', { class: 'panel', id: 'connect' },
    h('summary', {}, 'Connect a Parley address to a flow'),
    flows.length
      ? h('form', {
          class: 'fields',
          onsubmit: async (e) => {
            e.preventDefault();
            replace(result);
            try {
              await post('/v1/Configuration/Addresses', {
                Type: type.value,
                Address: address.value.trim(),
                'AutoCreation.Enabled': 'true',
                'AutoCreation.Type': 'studio',
                'AutoCreation.StudioFlowSid': flow.value,
              });
              replace(result, h('p', { class: 'ok' }, `${address.value.trim()} now starts a conversation answered by the flow.`));
              onCreated(address.value.trim());
            } catch (err) {
              replace(result, errorBox(err));
            }
          },
        },
        h('label', {}, 'Type', type),
        h('label', {}, 'Address', address),
        h('label', {}, 'Flow', flow),
        h('button', { type: 'submit', class: 'primary', id: 'connect-submit' }, 'Connect'),
        result)
      : h('p', { class: 'muted' }, 'Import a flow first: an address is connected to a flow.'));
}

export async function render(root, { query, scope }) {
  const [configs, flows] = await Promise.all([
    listAll('/v1/Configuration/Addresses', 'address_configurations', {}, 500),
    listAll('/v2/Flows', 'flows', {}, 500),
  ]);
  const flowName = new Map(flows.map((f) => [f.sid, f.friendly_name]));
  const handset = (query.get('handset') || '').trim();
  const address = (query.get('address') || '').trim();

  const handsetInput = h('input', { id: 'sim-handset', list: 'sim-handsets', required: true, value: handset, placeholder: 'e.g. +15558675310' });
  const addressInput = h('input', { id: 'sim-address', list: 'sim-addresses', required: true, value: address, placeholder: 'e.g. +12345678901' });
  const picker = h('form', {
    class: 'inline-form',
    onsubmit: (e) => {
      e.preventDefault();
      const q = new URLSearchParams({ handset: handsetInput.value.trim(), address: addressInput.value.trim() });
      location.hash = `#/simulator?${q}`;
    },
  },
  h('label', {}, 'Handset ', handsetInput),
  h('label', {}, 'Parley address ', addressInput),
  h('datalist', { id: 'sim-handsets' }, recentHandsets().map((x) => h('option', { value: x }))),
  h('datalist', { id: 'sim-addresses' }, configs.map((c) =>
    h('option', { value: c.address }, `${c.type}${c.auto_creation && c.auto_creation.studio_flow_sid ? ` → ${flowName.get(c.auto_creation.studio_flow_sid) || c.auto_creation.studio_flow_sid}` : ''}`))),
  h('button', { type: 'submit', class: 'primary', id: 'sim-open' }, 'Open chat'));

  const configList = configs.length
    ? h('ul', { class: 'addresses' }, configs.map((c) => {
        const fw = c.auto_creation && c.auto_creation.studio_flow_sid;
        return h('li', {}, h('strong', { class: 'mono' }, c.address), ` (${c.type})`,
          c.auto_creation && c.auto_creation.enabled ? ` · auto-creates ${c.auto_creation.type} conversations` : ' · auto-creation off',
          fw ? [' with ', h('a', { href: `#/flows/${fw}` }, flowName.get(fw) || fw)] : null);
      }))
    : h('p', { class: 'muted' }, 'No address configurations yet.');

  const phone = h('div', { class: 'phone-area' });
  replace(root,
    h('div', { class: 'toolbar' }, h('h1', {}, 'Phone simulator')),
    picker,
    phone,
    h('h2', {}, 'Parley addresses'),
    configList,
    addressForm(flows, (addr) => {
      const q = new URLSearchParams({ handset: handsetInput.value.trim(), address: addr });
      location.hash = `#/simulator?${q}`;
    }));

  if (!handset || !address) {
    replace(phone, h('p', { class: 'muted' }, 'Pick a handset number and a Parley address to start a chat.'));
    return;
  }
  remember(handset);
  await renderPhone(phone, handset, address, scope);
}

async function renderPhone(root, handset, address, scope) {
  const seen = new Map();
  const screen = h('ol', { class: 'phone-screen', id: 'sim-messages' });
  const text = h('textarea', { id: 'sim-body', rows: 1, placeholder: 'Text message' });
  const result = h('div', { class: 'message-area' });

  const draw = () => {
    const list = [...seen.values()].sort((a, b) => String(a.date_created).localeCompare(String(b.date_created)) || a.order - b.order);
    replace(screen, list.length ? list.map(bubble) : h('li', { class: 'empty' }, 'No messages yet.'));
    screen.scrollTop = screen.scrollHeight;
  };
  let order = 0;
  const keep = (m) => {
    if (!inChat(m, handset, address)) return;
    const old = seen.get(m.sid);
    // The event of an inbound text is published before it is routed; the answer to the
    // POST knows whether it was refused, so a later event must not undo that.
    const status = old && old.status === 'refused' ? 'refused' : m.status;
    seen.set(m.sid, { ...m, status, order: old ? old.order : order++ });
  };
  const load = async () => {
    const all = await listAll('/sim/v1/Messages', 'messages', { Address: handset }, 2000);
    if (!scope.active) return;
    for (const m of all) keep(m);
    draw();
  };

  const send = async (e) => {
    e.preventDefault();
    const body = text.value;
    if (!body.trim()) return;
    replace(result);
    try {
      const m = await post('/sim/v1/Messages', { From: handset, To: address, Body: body });
      text.value = '';
      keep(m);
      draw();
    } catch (err) {
      replace(result, errorBox(err));
    }
  };
  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) send(e);
  });

  replace(root,
    h('div', { class: 'phone' },
      h('div', { class: 'phone-top' }, h('div', { class: 'phone-to' }, address), h('div', { class: 'phone-from muted' }, `this phone: ${handset}`)),
      screen,
      h('form', { class: 'phone-composer', onsubmit: send }, text, h('button', { type: 'submit', class: 'primary', id: 'sim-send' }, 'Send'))),
    result);

  scope.live((ev) => {
    if (ev.event === 'ready') {
      load().catch((err) => scope.active && replace(result, errorBox(err)));
    } else if (ev.event === 'onSimMessage' && ev.data.truncated) {
      // A stub relayed from another node of a cluster: read the handset's screen again.
      load().catch((err) => scope.active && replace(result, errorBox(err)));
    } else if (ev.event === 'onSimMessage') {
      keep(ev.data);
      draw();
    }
  });
  await load();
}
