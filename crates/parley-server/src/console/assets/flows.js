// Flows: the list, one flow (canvas, publish, revisions) and a revision's diff against an
// earlier one.

import { get, listAll, path, post } from './api.js';
import { drawFlow } from './canvas.js';
import { diffDefinitions, diffMarks } from './diff.js';
import { errorBox, h, pretty, replace, when } from './dom.js';

function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, status);
}

export async function renderList(root) {
  replace(root, h('p', { class: 'muted' }, 'Loading flows…'));
  const flows = await listAll('/v2/Flows', 'flows');
  const rows = flows.map((f) =>
    h('tr', { dataset: { flow: f.sid } },
      h('td', {}, h('a', { href: `#/flows/${f.sid}` }, f.friendly_name)),
      h('td', { class: 'mono' }, f.sid),
      h('td', {}, statusBadge(f.status)),
      h('td', {}, String(f.revision)),
      h('td', {}, f.valid ? 'valid' : 'invalid'),
      h('td', {}, when(f.date_updated || f.date_created)),
      h('td', {}, h('a', { href: `#/executions/${f.sid}` }, 'executions'))));
  replace(
    root,
    h('div', { class: 'toolbar' }, h('h1', {}, 'Flows'), h('a', { class: 'button primary', href: '#/flows/import' }, 'Import a flow')),
    flows.length
      ? h('table', { class: 'list', id: 'flows-table' },
          h('thead', {}, h('tr', {}, ['Name', 'SID', 'Status', 'Revision', 'Validity', 'Updated', ''].map((t) => h('th', {}, t)))),
          h('tbody', {}, rows))
      : h('p', { class: 'empty' }, 'No flows yet. Import a Studio flow definition (JSON) to create one.'),
    flows.truncated ? h('p', { class: 'muted' }, `Showing the first ${flows.length} flows.`) : null,
  );
}

/** The panel that shows a clicked widget: its type, transitions and properties. */
export function widgetPanel(state, extra) {
  if (!state) return h('aside', { class: 'panel widget-panel' }, h('p', { class: 'muted' }, 'Click a widget to see its properties.'));
  const transitions = (state.transitions || []).map((t) =>
    h('li', {}, h('span', { class: 'mono' }, t.event || '?'), ' → ', t.next ? h('strong', {}, t.next) : h('span', { class: 'muted' }, '(not connected)')));
  return h('aside', { class: 'panel widget-panel', dataset: { widget: state.name } },
    h('h3', {}, state.name),
    h('p', { class: 'mono muted' }, state.type || '(no type)'),
    extra || null,
    h('h4', {}, 'Transitions'),
    transitions.length ? h('ul', { class: 'transitions' }, transitions) : h('p', { class: 'muted' }, 'None'),
    h('h4', {}, 'Properties'),
    h('pre', { class: 'json' }, pretty(state.properties || {})));
}

/** A canvas with a side panel that follows clicks. */
export function canvasWithPanel(definition, opts = {}) {
  const wrap = h('div', { class: 'canvas-layout' });
  const states = (definition && Array.isArray(definition.states) && definition.states) || [];
  let selected = states.find((st) => st && st.name === opts.initialSelection) || null;
  const draw = () => {
    const svg = drawFlow(definition, {
      ...opts,
      selected: selected && selected.name,
      onSelect: (st) => {
        selected = st;
        draw();
      },
    });
    replace(wrap, h('div', { class: 'canvas-scroll' }, svg), widgetPanel(selected, opts.panelExtra && selected && opts.panelExtra(selected)));
  };
  draw();
  return wrap;
}

export async function renderDetail(root, { params }) {
  const [sid] = params;
  replace(root, h('p', { class: 'muted' }, 'Loading flow…'));
  const [flow, revisions] = await Promise.all([
    get(path`/v2/Flows/${sid}`),
    listAll(path`/v2/Flows/${sid}/Revisions`, 'revisions', {}, 200),
  ]);
  const message = h('div', { class: 'message-area' });
  const publish = h('button', {
    class: 'primary',
    id: 'publish',
    type: 'button',
    onclick: async () => {
      publish.disabled = true;
      try {
        await post(path`/v2/Flows/${sid}`, { Status: 'published', CommitMessage: 'Published from the console' });
        await renderDetail(root, { params });
      } catch (err) {
        replace(message, errorBox(err));
        publish.disabled = false;
      }
    },
  }, 'Publish');
  const warnings = Array.isArray(flow.warnings) ? flow.warnings : [];
  replace(
    root,
    h('div', { class: 'toolbar' },
      h('h1', {}, flow.friendly_name),
      statusBadge(flow.status),
      h('span', { class: 'badge', id: 'flow-revision' }, `revision ${flow.revision}`),
      h('span', { class: 'spacer' }),
      flow.status === 'draft' ? publish : null,
      h('a', { class: 'button', href: `#/flows/${sid}/import` }, 'Import a new revision'),
      h('a', { class: 'button', href: `#/executions/${sid}` }, 'Executions')),
    h('p', { class: 'mono muted' }, flow.sid, flow.commit_message ? ` · “${flow.commit_message}”` : ''),
    message,
    warnings.length
      ? h('ul', { class: 'warnings' }, warnings.map((w) => h('li', {}, typeof w === 'string' ? w : w.message || pretty(w))))
      : null,
    canvasWithPanel(flow.definition),
    h('h2', {}, 'Revisions'),
    revisionTable(sid, revisions),
    h('details', {}, h('summary', {}, 'Definition (JSON)'), h('pre', { class: 'json' }, pretty(flow.definition))),
  );
}

function revisionTable(sid, revisions) {
  return h('table', { class: 'list', id: 'revisions-table' },
    h('thead', {}, h('tr', {}, ['Revision', 'Status', 'Commit message', 'Date', ''].map((t) => h('th', {}, t)))),
    h('tbody', {}, revisions.map((r) =>
      h('tr', { dataset: { revision: r.revision } },
        h('td', {}, String(r.revision)),
        h('td', {}, statusBadge(r.status)),
        h('td', {}, r.commit_message || ''),
        h('td', {}, when(r.date_created)),
        h('td', {}, h('a', { href: `#/flows/${sid}/revisions/${r.revision}` }, r.revision > 1 ? 'diff with previous' : 'view'))))));
}

function showValue(v) {
  if (v === undefined) return h('span', { class: 'muted' }, '(absent)');
  return h('code', {}, typeof v === 'string' ? v : JSON.stringify(v));
}

function changeList(diff) {
  const items = [];
  for (const st of diff.added) {
    items.push(h('li', { class: 'diff-added', dataset: { widget: st.name } }, h('strong', {}, st.name), ` added (${st.type})`));
  }
  for (const st of diff.removed) {
    items.push(h('li', { class: 'diff-removed', dataset: { widget: st.name } }, h('strong', {}, st.name), ` removed (${st.type})`));
  }
  for (const c of diff.changed) {
    items.push(
      h('li', { class: `diff-${c.kind}`, dataset: { widget: c.name } },
        h('strong', {}, c.name), ` ${c.kind} (${c.type})`,
        h('table', { class: 'changes' },
          h('tbody', {}, c.changes.map((ch) =>
            h('tr', {}, h('td', { class: 'mono' }, ch.path), h('td', { class: 'before' }, showValue(ch.before)), h('td', {}, '→'), h('td', { class: 'after' }, showValue(ch.after))))))),
    );
  }
  for (const ch of diff.flow) {
    items.push(h('li', { class: 'diff-changed' }, h('strong', {}, ch.path), ': ', showValue(ch.before), ' → ', showValue(ch.after)));
  }
  return items.length ? h('ul', { class: 'diff-list', id: 'diff-list' }, items) : h('p', { id: 'diff-list', class: 'muted' }, 'No differences.');
}

export async function renderRevision(root, { params, query }) {
  const [sid, n] = params;
  const revisions = await listAll(path`/v2/Flows/${sid}/Revisions`, 'revisions', {}, 200);
  const number = Number(n);
  const others = revisions.map((r) => r.revision).filter((r) => r !== number);
  // Newest first: the default base is the revision just before this one.
  const base = query.has('base') ? Number(query.get('base')) : others.find((r) => r < number);
  const [rev, baseRev] = await Promise.all([
    get(path`/v2/Flows/${sid}/Revisions/${number}`),
    base ? get(path`/v2/Flows/${sid}/Revisions/${base}`) : Promise.resolve(null),
  ]);
  const picker = h('select', {
    id: 'diff-base',
    onchange: (e) => {
      location.hash = `#/flows/${sid}/revisions/${number}?base=${e.target.value}`;
    },
  }, others.map((r) => h('option', { value: r, selected: r === base }, `revision ${r}`)));
  const header = h('div', { class: 'toolbar' },
    h('h1', {}, `${rev.friendly_name} · revision ${number}`),
    statusBadge(rev.status),
    h('span', { class: 'spacer' }),
    h('a', { class: 'button', href: `#/flows/${sid}` }, 'Back to the flow'));
  if (!baseRev) {
    replace(root, header, h('p', { class: 'muted' }, 'The first revision: nothing earlier to compare with.'), canvasWithPanel(rev.definition));
    return;
  }
  const diff = diffDefinitions(baseRev.definition, rev.definition);
  replace(
    root,
    header,
    h('p', {}, 'Compared with ', picker, rev.commit_message ? ` · “${rev.commit_message}”` : ''),
    h('p', { class: 'legend' },
      h('span', { class: 'swatch diff-added' }, 'added'),
      h('span', { class: 'swatch diff-changed' }, 'changed'),
      h('span', { class: 'swatch diff-moved' }, 'moved'),
      h('span', { class: 'swatch diff-removed' }, 'removed')),
    canvasWithPanel(rev.definition, { marks: diffMarks(diff), ghosts: diff.removed }),
    h('h2', {}, 'Changes'),
    changeList(diff),
  );
}
