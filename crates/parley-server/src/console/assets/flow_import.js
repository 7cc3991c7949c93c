// Importing a flow definition (Studio's JSON export): as a new flow, or as a new revision of
// an existing one. The server validates (POST /v2/Flows/Validate); its errors are drawn on
// the widgets they concern (property_path "#/states/N/…").

import { ApiError, get, path, post } from './api.js';
import { drawFlow, errorsByWidget } from './canvas.js';
import { errorBox, h, replace } from './dom.js';

function parseDefinition(text) {
  try {
    return { definition: JSON.parse(text) };
  } catch (e) {
    return { parseError: e.message };
  }
}

export async function render(root, { params, scope }) {
  const flowSid = params[0] || null;
  const flow = flowSid ? await get(path`/v2/Flows/${flowSid}`) : null;

  const name = h('input', { id: 'import-name', required: true, value: flow ? flow.friendly_name : '', placeholder: 'A name for the flow' });
  const status = h('select', { id: 'import-status' },
    h('option', { value: 'published', selected: !flow || flow.status === 'published' }, 'published'),
    h('option', { value: 'draft', selected: Boolean(flow && flow.status === 'draft') }, 'draft'));
  const commit = h('input', { id: 'import-commit', placeholder: 'What changed (optional)' });
  const text = h('textarea', { id: 'import-json', rows: 14, spellcheck: 'false', placeholder: 'Paste the flow JSON here, or choose a file.' });
  const file = h('input', { id: 'import-file', type: 'file', accept: '.json,application/json' });
  const result = h('div', { id: 'validation-result', class: 'message-area' });
  const preview = h('div', { id: 'import-canvas', class: 'canvas-scroll' });

  const show = (definition, apiErrors) => {
    const { byWidget, general } = errorsByWidget(definition, apiErrors);
    replace(preview, definition && typeof definition === 'object' ? drawFlow(definition, { errors: byWidget }) : null);
    return { byWidget, general };
  };

  const showErrors = (definition, err) => {
    const errors = (err.details && err.details.errors) || [];
    const { byWidget, general } = show(definition, errors);
    const items = [
      ...[...byWidget].flatMap(([w, msgs]) => msgs.map((m) => h('li', { dataset: { widget: w } }, h('strong', {}, w), `: ${m}`))),
      ...general.map((e) => h('li', {}, e.property_path ? h('code', {}, e.property_path) : null, ` ${e.message}`)),
    ];
    replace(result, errorBox(err), items.length ? h('ul', { class: 'validation-errors' }, items) : null);
  };

  const refreshPreview = () => {
    const { definition, parseError } = parseDefinition(text.value);
    replace(result);
    if (!text.value.trim()) return replace(preview);
    if (parseError) {
      replace(preview);
      replace(result, h('p', { class: 'error' }, `The JSON does not parse: ${parseError}`));
      return;
    }
    show(definition, []);
  };
  let timer = null;
  text.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(refreshPreview, 250);
  });
  scope.onLeave(() => clearTimeout(timer));
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    text.value = await f.text();
    // Studio's export carries no name: the file's is the best suggestion.
    if (!flow && !name.value) name.value = f.name.replace(/\.json$/i, '');
    refreshPreview();
  });

  /** Asks the server; true if valid, otherwise draws the errors. */
  const validate = async () => {
    const { definition } = parseDefinition(text.value);
    try {
      await post('/v2/Flows/Validate', { FriendlyName: name.value || 'unnamed', Status: status.value, Definition: text.value });
      show(definition, []);
      replace(result, h('p', { class: 'ok', role: 'status' }, 'The definition is valid.'));
      return true;
    } catch (err) {
      if (err instanceof ApiError) showErrors(definition, err);
      else replace(result, errorBox(err));
      return false;
    }
  };

  const validateButton = h('button', { type: 'button', id: 'validate', onclick: validate }, 'Validate');
  const importButton = h('button', {
    type: 'submit',
    class: 'primary',
    id: 'import',
  }, flow ? 'Save as a new revision' : 'Import');
  const formEl = h('form', {
    class: 'import-form',
    onsubmit: async (e) => {
      e.preventDefault();
      importButton.disabled = true;
      try {
        if (!(await validate())) return;
        const fields = { FriendlyName: name.value, Status: status.value, Definition: text.value, CommitMessage: commit.value || undefined };
        const saved = flow ? await post(path`/v2/Flows/${flowSid}`, fields) : await post('/v2/Flows', fields);
        location.hash = `#/flows/${saved.sid}`;
      } catch (err) {
        if (err instanceof ApiError && err.details) showErrors(parseDefinition(text.value).definition, err);
        else replace(result, errorBox(err));
      } finally {
        importButton.disabled = false;
      }
    },
  },
  h('div', { class: 'fields' },
    h('label', {}, 'Name', name),
    h('label', {}, 'Status', status),
    h('label', {}, 'Commit message', commit),
    h('label', {}, 'JSON file', file)),
  h('label', { class: 'block' }, 'Definition', text),
  h('div', { class: 'actions' }, validateButton, importButton));

  replace(
    root,
    h('div', { class: 'toolbar' },
      h('h1', {}, flow ? `Import a new revision of ${flow.friendly_name}` : 'Import a flow'),
      h('span', { class: 'spacer' }),
      h('a', { class: 'button', href: flow ? `#/flows/${flowSid}` : '#/flows' }, 'Cancel')),
    formEl,
    result,
    preview,
  );
}
