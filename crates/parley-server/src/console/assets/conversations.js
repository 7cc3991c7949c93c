// Conversations: the list, and one conversation with its participants and messages as they
// arrive. An agent joins as a chat participant (an identity) and replies: the hand-off
// after the bot. "Stop the bot" removes the conversation's studio webhooks so the flow no
// longer answers the customer's next message.

import { del, get, listAll, path, post } from './api.js';
import { errorBox, h, replace, when } from './dom.js';

const AGENT_KEY = 'parley.agent.identity';

function coalesce(fn, ms = 150) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

function title(c) {
  return c.friendly_name || c.unique_name || c.sid;
}

export async function renderList(root, { scope }) {
  const body = h('div', {});
  replace(root, h('div', { class: 'toolbar' }, h('h1', {}, 'Conversations')), body);
  const load = async () => {
    try {
      const list = await listAll('/v1/Conversations', 'conversations', {}, 1000);
      if (!scope.active) return;
      const newestFirst = [...list].sort((a, b) => String(b.date_created).localeCompare(String(a.date_created)));
      replace(body, newestFirst.length
        ? h('table', { class: 'list', id: 'conversations-table' },
            h('thead', {}, h('tr', {}, ['Conversation', 'SID', 'State', 'Created', 'Updated'].map((t) => h('th', {}, t)))),
            h('tbody', {}, newestFirst.map((c) =>
              h('tr', { dataset: { conversation: c.sid } },
                h('td', {}, h('a', { href: `#/conversations/${c.sid}` }, title(c))),
                h('td', { class: 'mono' }, c.sid),
                h('td', {}, h('span', { class: `badge state-${c.state}` }, c.state)),
                h('td', {}, when(c.date_created)),
                h('td', {}, when(c.date_updated))))))
        : h('p', { class: 'empty' }, 'No conversations yet. A text to an address with auto-creation starts one (try the phone simulator).'),
        list.truncated ? h('p', { class: 'muted' }, `Showing the first ${list.length}.`) : null);
    } catch (err) {
      if (scope.active) replace(body, errorBox(err));
    }
  };
  const reload = coalesce(load);
  scope.live((ev) => {
    if (ev.event === 'ready' || /^onConversation/.test(ev.event)) reload();
  });
  await load();
}

function participantLabel(p) {
  if (p.identity) return p.identity;
  const b = p.messaging_binding || {};
  return [b.address || b.projected_address, b.proxy_address && `via ${b.proxy_address}`].filter(Boolean).join(' ');
}

function participantKind(p) {
  const b = p.messaging_binding;
  return b && b.type ? b.type : 'chat';
}

function messageItem(m, me) {
  const mine = me && m.author === me;
  return h('li', { class: `message${mine ? ' mine' : ''}${m.author === 'system' ? ' system' : ''}`, dataset: { sid: m.sid, index: m.index } },
    h('div', { class: 'meta' }, h('strong', {}, m.author || '(no author)'), ' · ', when(m.date_created), ` · #${m.index}`),
    h('div', { class: 'body' }, m.body ?? ''),
    Array.isArray(m.media) && m.media.length ? h('div', { class: 'muted' }, `${m.media.length} media attachment(s)`) : null);
}

export async function renderDetail(root, { params, scope }) {
  const [sid] = params;
  const base = path`/v1/Conversations/${sid}`;
  const messages = new Map();
  let participants = [];
  let webhooks = [];
  let conversation = null;
  // What the agent is typing survives redraws caused by live events.
  let draft = '';

  const header = h('div', {});
  const message = h('div', { class: 'message-area' });
  const peopleEl = h('ul', { class: 'participants', id: 'participants' });
  const botEl = h('div', { id: 'bot' });
  const agentEl = h('div', { class: 'agent', id: 'agent' });
  const messagesEl = h('ol', { class: 'messages', id: 'messages' });

  const me = () => sessionStorage.getItem(AGENT_KEY) || '';
  const myParticipant = () => participants.find((p) => p.identity && p.identity === me());

  const drawHeader = () =>
    replace(header, h('div', { class: 'toolbar' },
      h('h1', {}, title(conversation)),
      h('span', { class: `badge state-${conversation.state}`, id: 'conversation-state' }, conversation.state),
      h('span', { class: 'spacer' }),
      h('a', { class: 'button', href: '#/conversations' }, 'All conversations')),
    h('p', { class: 'muted' },
      title(conversation) === conversation.sid ? '' : `${conversation.sid} · `,
      `created ${when(conversation.date_created)}`,
      participants.filter((p) => p.messaging_binding).map((p) => ` · ${participantKind(p)} ${participantLabel(p)}`)));

  const drawMessages = () => {
    const atBottom = messagesEl.scrollHeight - messagesEl.scrollTop - messagesEl.clientHeight < 40;
    const sorted = [...messages.values()].sort((a, b) => a.index - b.index);
    replace(messagesEl, sorted.length ? sorted.map((m) => messageItem(m, me())) : h('li', { class: 'empty' }, 'No messages yet.'));
    if (atBottom) messagesEl.scrollTop = messagesEl.scrollHeight;
  };

  const drawPeople = () =>
    replace(peopleEl, participants.length
      ? participants.map((p) => h('li', { dataset: { participant: p.sid, identity: p.identity || '' } },
          h('span', { class: 'badge' }, participantKind(p)), ' ', h('strong', {}, participantLabel(p)), h('span', { class: 'mono muted' }, ` ${p.sid}`)))
      : h('li', { class: 'muted' }, 'Nobody yet.'));

  const act = (fn) => async (e) => {
    if (e) e.preventDefault();
    replace(message);
    try {
      await fn();
    } catch (err) {
      replace(message, errorBox(err));
    }
  };

  const drawBot = () => {
    const studio = webhooks.filter((w) => w.target === 'studio');
    if (!studio.length) return replace(botEl, h('p', { class: 'muted' }, 'No flow answers in this conversation.'));
    replace(botEl, h('ul', {}, studio.map((w) => {
      const flow = w.configuration && w.configuration.flow_sid;
      return h('li', {},
        'Flow ', h('a', { href: `#/flows/${flow}`, class: 'mono' }, flow), ' answers here (',
        h('a', { href: `#/executions/${flow}` }, 'executions'), ') ',
        h('button', {
          type: 'button',
          class: 'stop-bot',
          onclick: act(async () => {
            await del(path`/v1/Conversations/${sid}/Webhooks/${w.sid}`);
            await loadWebhooks();
          }),
        }, 'Stop the bot'));
    })));
  };

  const drawAgent = () => {
    const mine = myParticipant();
    const conversationOpen = conversation.state !== 'closed';
    if (!mine) {
      const identity = h('input', { id: 'agent-identity', required: true, value: me(), placeholder: 'Your identity, e.g. your name' });
      replace(agentEl, h('form', {
        class: 'inline-form',
        onsubmit: act(async () => {
          const id = identity.value.trim();
          if (!id) return;
          sessionStorage.setItem(AGENT_KEY, id);
          const p = await post(`${base}/Participants`, { Identity: id });
          if (!participants.some((x) => x.sid === p.sid)) participants.push(p);
          drawPeople();
          drawAgent();
          drawMessages();
        }),
      }, h('label', {}, 'Agent identity ', identity), h('button', { type: 'submit', class: 'primary', id: 'join', disabled: !conversationOpen }, 'Join as agent')));
      return;
    }
    const text = h('textarea', { id: 'reply-body', rows: 2, required: true, value: draft, placeholder: `Reply as ${mine.identity}` });
    text.addEventListener('input', () => {
      draft = text.value;
    });
    const send = act(async () => {
      const body = text.value;
      if (!body.trim()) return;
      const m = await post(`${base}/Messages`, { Author: mine.identity, Body: body });
      text.value = '';
      draft = '';
      messages.set(m.sid, m);
      drawMessages();
    });
    text.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) send(e);
    });
    replace(agentEl,
      h('p', {}, 'You are in this conversation as ', h('strong', { id: 'agent-me' }, mine.identity), '. ',
        h('button', {
          type: 'button',
          id: 'leave',
          onclick: act(async () => {
            await del(path`/v1/Conversations/${sid}/Participants/${mine.sid}`);
            participants = participants.filter((p) => p.sid !== mine.sid);
            drawPeople();
            drawAgent();
          }),
        }, 'Leave')),
      h('form', { class: 'composer', onsubmit: send }, text, h('button', { type: 'submit', class: 'primary', id: 'send-reply', disabled: !conversationOpen }, 'Send')));
  };

  const loadWebhooks = async () => {
    webhooks = await listAll(`${base}/Webhooks`, 'webhooks', {}, 100);
    if (scope.active) drawBot();
  };
  const loadAll = async () => {
    const [c, ps, ms] = await Promise.all([
      get(base),
      listAll(`${base}/Participants`, 'participants', {}, 1000),
      listAll(`${base}/Messages`, 'messages', {}, 1000),
      loadWebhooks(),
    ]);
    if (!scope.active) return;
    conversation = c;
    participants = ps;
    messages.clear();
    for (const m of ms) messages.set(m.sid, m);
    drawHeader();
    drawPeople();
    drawAgent();
    drawMessages();
  };

  await loadAll();
  replace(root,
    header,
    message,
    h('div', { class: 'conversation-layout' },
      h('section', { class: 'chat' }, h('h2', {}, 'Messages'), messagesEl, agentEl),
      h('aside', { class: 'panel' }, h('h2', {}, 'Participants'), peopleEl, h('h2', {}, 'Bot'), botEl)));
  messagesEl.scrollTop = messagesEl.scrollHeight;

  const resync = coalesce(() => loadAll().catch((err) => scope.active && replace(message, errorBox(err))));
  scope.live((ev) => {
    if (ev.event === 'ready') return resync();
    if (ev.conversation_sid !== sid) return;
    // An event relayed from another node of a cluster may carry only a stub: reload.
    if (ev.data.truncated) return resync();
    switch (ev.event) {
      case 'onMessageAdded':
      case 'onMessageUpdated':
        messages.set(ev.data.sid, ev.data);
        return drawMessages();
      case 'onMessageRemoved':
        messages.delete(ev.data.sid);
        return drawMessages();
      case 'onParticipantAdded':
      case 'onParticipantUpdated':
      case 'onParticipantRemoved': {
        const wasIn = Boolean(myParticipant());
        participants = participants.filter((p) => p.sid !== ev.data.sid);
        if (ev.event !== 'onParticipantRemoved') participants.push(ev.data);
        drawPeople();
        return wasIn === Boolean(myParticipant()) ? undefined : drawAgent();
      }
      case 'onConversationUpdated':
      case 'onConversationStateUpdated':
        return resync();
      case 'onConversationRemoved':
        return replace(root, h('p', { class: 'empty' }, 'This conversation was deleted.'), h('a', { href: '#/conversations' }, 'All conversations'));
      default:
        return undefined;
    }
  });
}
