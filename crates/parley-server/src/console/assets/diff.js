// Revision diff: two flow definitions compared widget by widget (by name), and for each
// changed widget the leaf values that differ (`properties.body`, `transitions[1].next`).

function isObject(v) {
  return v !== null && typeof v === 'object';
}

/** Leaf-level differences between two JSON values, as [{path, before, after}]. */
export function valueChanges(before, after, path = '') {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const bothArrays = Array.isArray(before) && Array.isArray(after);
  const bothObjects = isObject(before) && isObject(after) && !Array.isArray(before) && !Array.isArray(after);
  if (bothArrays) {
    const out = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      out.push(...valueChanges(before[i], after[i], `${path}[${i}]`));
    }
    return out;
  }
  if (bothObjects) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    const out = [];
    for (const k of keys) out.push(...valueChanges(before[k], after[k], path ? `${path}.${k}` : k));
    return out;
  }
  return [{ path: path || '(value)', before, after }];
}

function statesByName(def) {
  const map = new Map();
  for (const st of (def && Array.isArray(def.states) && def.states) || []) {
    if (st && st.name !== undefined) map.set(st.name, st);
  }
  return map;
}

/** Names `transitions[1]` after its event, so a reader sees which arrow moved. */
function readablePath(state, path) {
  return path.replace(/^transitions\[(\d+)\]/, (m, i) => {
    const t = state && state.transitions && state.transitions[Number(i)];
    return t && t.event ? `${m} (${t.event})` : m;
  });
}

/**
 * Compares `before` → `after`. A widget whose only changes are its offset was `moved`;
 * any other difference makes it `changed`.
 */
export function diffDefinitions(before, after) {
  const a = statesByName(before);
  const b = statesByName(after);
  const added = [];
  const removed = [];
  const changed = [];
  const unchanged = [];
  for (const [name, st] of b) {
    if (!a.has(name)) {
      added.push(st);
      continue;
    }
    const changes = valueChanges(a.get(name), st).map((c) => ({ ...c, path: readablePath(st, c.path) }));
    if (!changes.length) {
      unchanged.push(name);
    } else {
      const moved = changes.every((c) => c.path.startsWith('properties.offset'));
      changed.push({ name, type: st.type, kind: moved ? 'moved' : 'changed', changes });
    }
  }
  for (const [name, st] of a) if (!b.has(name)) removed.push(st);
  const flow = [];
  for (const key of ['initial_state', 'description', 'flags']) {
    flow.push(...valueChanges(before && before[key], after && after[key], key));
  }
  return { added, removed, changed, unchanged, flow };
}

/** The canvas marks of a diff: widget name → 'added' | 'changed' | 'moved'. */
export function diffMarks(diff) {
  const marks = new Map();
  for (const st of diff.added) marks.set(st.name, 'added');
  for (const c of diff.changed) marks.set(c.name, c.kind);
  return marks;
}
