// Executions: the list for one flow, and one execution as a timeline of its steps (widget,
// event, the context at that point) beside the canvas with the path it took highlighted.
// Both follow `onExecutionUpdated` live.

import { get, listAll, path, post } from './api.js';
import { pathOf } from './canvas.js';
import { cumulativeContexts } from './context.js';
import { errorBox, h, pretty, replace, when } from './dom.js';
import { canvasWithPanel } from './flows.js';

/** Runs `fn` at most once per `ms`, last call wins: bursts of events cost one reload. */
function coalesce(fn, ms = 150) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

export async function renderList(root, { params, scope }) {
  const flows = await listAll('/v2/Flows', 'flows');
  let flowSid = params[0];
  if (!flowSid && flows.length) {
    location.replace(`#/executions/${flows[0].sid}`);
    return;
  }
  const picker = h('select', {
    id: 'execution-flow',
    onchange: (e) => {
      location.hash = `#/executions/${e.target.value}`;
    },
  }, flows.map((f) => h('option', { value: f.sid, selected: f.sid === flowSid }, `${f.friendly_name} (${f.sid})`)));
  const body = h('div', {});
  replace(root, h('div', { class: 'toolbar' }, h('h1', {}, 'Executions'), flows.length ? picker : null), body);
  if (!flowSid) {
    replace(body, h('p', { class: 'empty' }, 'No flows yet: executions belong to a flow. ', h('a', { href: '#/flows/import' }, 'Import one.')));
    return;
  }
  const load = async () => {
    try {
      const executions = await listAll(path`/v2/Flows/${flowSid}/Executions`, 'executions', {}, 500);
      if (!scope.active) return;
      replace(body, executions.length
        ? h('table', { class: 'list', id: 'executions-table' },
            h('thead', {}, h('tr', {}, ['Execution', 'Contact', 'Status', 'Flow revision', 'Started', 'Updated'].map((t) => h('th', {}, t)))),
            h('tbody', {}, executions.map((e) =>
              h('tr', { dataset: { execution: e.sid } },
                h('td', { class: 'mono' }, h('a', { href: `#/executions/${flowSid}/${e.sid}` }, e.sid)),
                h('td', {}, e.contact_channel_address || ''),
                h('td', {}, h('span', { class: `badge status-${e.status}` }, e.status)),
                h('td', {}, String(e.flow_version ?? '')),
                h('td', {}, when(e.date_created)),
                h('td', {}, when(e.date_updated))))))
        : h('p', { class: 'empty' }, 'This flow has not run yet.'));
    } catch (err) {
      if (scope.active) replace(body, errorBox(err));
    }
  };
  const reload = coalesce(load);
  scope.live((ev) => {
    if (ev.event === 'ready' || (ev.event === 'onExecutionUpdated' && (ev.data.flow_sid === flowSid || ev.data.truncated))) reload();
  });
  await load();
}

function stepItem(step, index, context, onPick) {
  return h('li', { class: 'step', dataset: { step: step.sid, widget: step.transitioned_from || '' } },
    h('div', { class: 'step-head' },
      h('span', { class: 'step-number' }, String(index + 1)),
      h('button', { type: 'button', class: 'link step-widget', onclick: () => onPick(step.transitioned_from) }, step.transitioned_from || '?'),
      h('span', { class: 'mono muted' }, step.type || ''),
      h('span', { class: 'step-event' }, step.name),
      h('span', {}, '→'),
      h('span', { class: 'step-to' }, step.transitioned_to || ''),
      h('span', { class: 'spacer' }),
      h('span', { class: 'muted' }, when(step.date_created))),
    h('details', { class: 'step-context', dataset: { key: `${step.sid}:context` } },
      h('summary', {}, 'Context at this point'),
      h('pre', { class: 'json' }, pretty(context))),
    Object.keys(step.context || {}).length
      ? h('details', { class: 'step-delta', dataset: { key: `${step.sid}:delta` } }, h('summary', {}, 'Written by this step'), h('pre', { class: 'json' }, pretty(step.context)))
      : null);
}

export async function renderDetail(root, { params, scope }) {
  const [flowSid, sid] = params;
  const load = async () => {
    const base = path`/v2/Flows/${flowSid}/Executions/${sid}`;
    const [execution, steps, context] = await Promise.all([
      get(base),
      listAll(`${base}/Steps`, 'steps', {}, 1000),
      get(`${base}/Context`),
    ]);
    // The canvas of the revision that ran, not of whatever the flow is now.
    const revision = await get(path`/v2/Flows/${flowSid}/Revisions/${execution.flow_version}`).catch(() => get(path`/v2/Flows/${flowSid}`));
    if (!scope.active) return;
    // A live update redraws the page: what the reader had unfolded stays unfolded.
    const open = new Set([...root.querySelectorAll('details[open][data-key]')].map((d) => d.dataset.key));
    const contexts = cumulativeContexts(steps);
    const route = pathOf(steps, execution.status);
    const canvasHolder = h('div', {});
    const drawCanvas = (selected) =>
      replace(canvasHolder, canvasWithPanel(revision.definition, { path: route, initialSelection: selected }));
    drawCanvas(null);
    const message = h('div', { class: 'message-area' });
    const end = h('button', {
      type: 'button',
      id: 'end-execution',
      onclick: async () => {
        end.disabled = true;
        try {
          await post(base, { Status: 'ended' });
          await load();
        } catch (err) {
          replace(message, errorBox(err));
          end.disabled = false;
        }
      },
    }, 'End this execution');
    replace(
      root,
      h('div', { class: 'toolbar' },
        h('h1', {}, 'Execution'),
        h('span', { class: `badge status-${execution.status}`, id: 'execution-status' }, execution.status),
        h('span', { class: 'spacer' }),
        execution.status === 'active' ? end : null,
        h('a', { class: 'button', href: `#/executions/${flowSid}` }, 'All executions'),
        h('a', { class: 'button', href: `#/flows/${flowSid}` }, 'The flow')),
      h('p', { class: 'mono muted' },
        `${execution.sid} · ${revision.friendly_name} revision ${execution.flow_version} · contact ${execution.contact_channel_address || '—'} · started ${when(execution.date_created)}`),
      message,
      h('div', { class: 'execution-layout' },
        h('section', { class: 'timeline-section' },
          h('h2', {}, `Steps (${steps.length})`),
          steps.length
            ? h('ol', { class: 'timeline', id: 'steps' }, steps.map((st, i) => stepItem(st, i, contexts[i], drawCanvas)))
            : h('p', { class: 'empty' }, 'No steps yet.'),
          h('details', { class: 'final-context', dataset: { key: 'final' } },
            h('summary', {}, 'Execution context now'),
            h('pre', { class: 'json' }, pretty(context.context)))),
        h('section', { class: 'canvas-section' }, h('h2', {}, 'Path taken'), canvasHolder)),
    );
    for (const d of root.querySelectorAll('details[data-key]')) d.open = open.has(d.dataset.key);
  };
  const reload = coalesce(() => load().catch((err) => scope.active && replace(root, errorBox(err))));
  scope.live((ev) => {
    // A stub relayed from another node of a cluster does not say which execution: reload.
    if (ev.event === 'ready' || (ev.event === 'onExecutionUpdated' && (ev.data.execution_sid === sid || ev.data.truncated))) reload();
  });
  await load();
}
