// The flow canvas: an SVG drawing of a Studio definition, laid out from each widget's
// `properties.offset` as the Studio editor saved it. Widgets are boxes (name and type),
// transitions are arrows labelled with their event. The same drawing carries the overlays
// of the other screens: validation errors, a revision diff, the path an execution took.

import { s } from './dom.js';

export const BOX_W = 210;
/** Rough width of a character of the 12px labels, to keep labels from overlapping. */
const LABEL_CHAR_W = 6.8;
export const BOX_H = 62;
const PAD = 50;
const ERROR_LINE = 15;
const ERROR_CHARS = 40;

let drawings = 0;

/** A widget's top-left corner; widgets without an offset get a grid slot. */
function position(state, index) {
  const o = state && state.properties && state.properties.offset;
  if (o && Number.isFinite(Number(o.x)) && Number.isFinite(Number(o.y))) {
    return { x: Number(o.x), y: Number(o.y) };
  }
  return { x: (index % 4) * (BOX_W + 50), y: Math.floor(index / 4) * (BOX_H + 110) };
}

function clip(text, n) {
  const t = String(text ?? '');
  return t.length > n ? `${t.slice(0, n - 1)}…` : t;
}

/** Splits a message into lines short enough to sit under a box. */
function wrap(text, n) {
  const lines = [];
  let line = '';
  for (const word of String(text).split(/\s+/)) {
    if (line && (line + ' ' + word).length > n) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** What an arrow says: the event, and for a split's match the values it matches. */
function transitionLabel(t) {
  const c = Array.isArray(t.conditions) && t.conditions[0];
  if (t.event === 'match' && c && c.value !== undefined) return clip(`match: ${c.value}`, 30);
  return t.event || '?';
}

function marker(id, cls) {
  // userSpaceOnUse: the head keeps its size whatever the stroke width of the arrow.
  return s('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 11, markerHeight: 11, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' },
    s('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }));
}

/**
 * Places arrow labels one by one; a label that would overlap one already placed moves
 * down (then up) until it is clear, so two arrows leaving a split side by side stay legible.
 */
function labelPlacer() {
  const placed = [];
  const clash = (a) => placed.some((b) => Math.abs(a.x - b.x) * 2 < a.w + b.w && Math.abs(a.y - b.y) < 15);
  return (x, y, text) => {
    const w = text.length * LABEL_CHAR_W + 30;
    for (const dy of [0, 16, -16, 32, -32, 48, -48]) {
      const box = { x, y: y + dy, w };
      if (!clash(box)) {
        placed.push(box);
        return box;
      }
    }
    placed.push({ x, y, w });
    return { x, y };
  };
}

function curve(sx, sy, tx, ty) {
  const dy = Math.max(45, Math.abs(ty - sy) / 2);
  const p = [sx, sy, sx, sy + dy, tx, ty - dy, tx, ty];
  const mid = {
    x: (p[0] + 3 * p[2] + 3 * p[4] + p[6]) / 8,
    y: (p[1] + 3 * p[3] + 3 * p[5] + p[7]) / 8,
  };
  return { d: `M${sx},${sy} C${p[2]},${p[3]} ${p[4]},${p[5]} ${tx},${ty}`, mid };
}

/**
 * Draws `definition` and returns the <svg>. Options:
 * - errors: Map(widget name → [message]) drawn on the widget;
 * - marks: Map(widget name → 'added' | 'changed') and ghosts: [state] (removed widgets,
 *   drawn dashed where they were) for a diff;
 * - path: {visited: Map(name → [step numbers]), edges: Set('from→to'), current: name};
 * - selected: a widget name; onSelect(state) when a widget is clicked.
 */
export function drawFlow(definition, opts = {}) {
  const id = `c${++drawings}`;
  const states = Array.isArray(definition && definition.states) ? definition.states.filter(Boolean) : [];
  const ghosts = opts.ghosts || [];
  const errors = opts.errors || new Map();
  const marks = opts.marks || new Map();
  const path = opts.path || null;

  const placed = new Map();
  states.forEach((st, i) => placed.set(st.name, { state: st, ...position(st, i) }));
  const ghostPlaced = ghosts.map((st, i) => ({ state: st, ...position(st, i), ghost: true }));

  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const p of [...placed.values(), ...ghostPlaced]) {
    const errLines = (errors.get(p.state.name) || []).reduce((n, m) => n + wrap(m, ERROR_CHARS).length, 0);
    minX = Math.min(minX, p.x);
    minY = Math.min(minY, p.y);
    maxX = Math.max(maxX, p.x + BOX_W);
    maxY = Math.max(maxY, p.y + BOX_H + 70 + errLines * ERROR_LINE);
  }
  if (!Number.isFinite(minX)) {
    minX = 0;
    minY = 0;
    maxX = BOX_W;
    maxY = BOX_H;
  }
  const vb = { x: minX - PAD, y: minY - PAD, w: maxX - minX + 2 * PAD, h: maxY - minY + 2 * PAD };

  const svg = s('svg', {
    class: 'flow-canvas',
    viewBox: `${vb.x} ${vb.y} ${vb.w} ${vb.h}`,
    width: vb.w,
    height: vb.h,
    role: 'img',
    'aria-label': `Flow with ${states.length} widgets`,
  });
  svg.append(
    s(
      'defs',
      {},
      marker(`${id}-arrow`, 'arrowhead'),
      marker(`${id}-arrow-taken`, 'arrowhead taken'),
    ),
  );

  const edges = s('g', { class: 'edges' });
  const labels = s('g', { class: 'edge-labels' });
  const boxes = s('g', { class: 'widgets' });
  // Error callouts go over everything: they must stay readable across arrows.
  const callouts = s('g', { class: 'error-callouts' });
  svg.append(edges, boxes, labels, callouts);
  const placeLabel = labelPlacer();

  for (const from of placed.values()) {
    const transitions = (from.state.transitions || []).filter((t) => t && t.next);
    transitions.forEach((t, i) => {
      const sx = from.x + (BOX_W * (i + 1)) / (transitions.length + 1);
      const sy = from.y + BOX_H;
      const to = placed.get(t.next);
      const label = transitionLabel(t);
      if (!to) {
        // Points at a widget that is not there: a red stub says where it meant to go.
        edges.append(s('path', { class: 'edge dangling', d: `M${sx},${sy} L${sx},${sy + 40}` }));
        // The widget's error callout already says it; a label would sit under it.
        if (errors.has(from.state.name)) return;
        const text = `${label} → ${t.next}?`;
        const at = placeLabel(sx + 4 + (text.length * LABEL_CHAR_W) / 2, sy + 32, text);
        labels.append(s('text', { class: 'edge-label dangling', x: at.x, y: at.y, 'text-anchor': 'middle' }, text));
        return;
      }
      const taken = Boolean(path && path.edges.has(`${from.state.name}→${t.next}`));
      const c = curve(sx, sy, to.x + BOX_W / 2, to.y);
      const at = placeLabel(c.mid.x, c.mid.y, label);
      edges.append(
        s('path', {
          class: `edge${taken ? ' taken' : ''}`,
          d: c.d,
          'marker-end': `url(#${id}-arrow${taken ? '-taken' : ''})`,
          dataset: { from: from.state.name, to: t.next, event: t.event || '' },
        }),
      );
      labels.append(
        s('text', {
          class: `edge-label${taken ? ' taken' : ''}`,
          x: at.x,
          y: at.y,
          'text-anchor': 'middle',
          dataset: { from: from.state.name, to: t.next, event: t.event || '' },
        }, label),
      );
    });
  }

  const drawBox = (p) => {
    const st = p.state;
    const errs = errors.get(st.name) || [];
    const classes = ['widget'];
    if (p.ghost) classes.push('diff-removed');
    if (marks.get(st.name)) classes.push(`diff-${marks.get(st.name)}`);
    if (errs.length) classes.push('has-error');
    if (path && path.visited.has(st.name)) classes.push('visited');
    if (path && path.current === st.name) classes.push('current');
    if (opts.selected === st.name) classes.push('selected');
    const g = s('g', {
      class: classes.join(' '),
      transform: `translate(${p.x},${p.y})`,
      tabindex: 0,
      dataset: { widget: st.name, type: st.type || '' },
    });
    g.append(
      s('title', {}, `${st.name} (${st.type || 'no type'})`),
      s('rect', { class: 'box', width: BOX_W, height: BOX_H, rx: 6 }),
      s('rect', { class: 'band', width: 6, height: BOX_H, rx: 3 }),
      s('text', { class: 'widget-name', x: 16, y: 25 }, clip(st.name, 24)),
      s('text', { class: 'widget-type', x: 16, y: 46 }, clip(st.type || '(no type)', 30)),
    );
    if (path && path.visited.has(st.name)) {
      const label = path.visited.get(st.name).join(',') || 'now';
      const w = 12 + label.length * 7;
      g.append(
        s('g', { class: 'step-badge', transform: `translate(${BOX_W - w - 6},-10)` },
          s('rect', { width: w, height: 20, rx: 10 }),
          s('text', { x: w / 2, y: 14, 'text-anchor': 'middle' }, label)),
      );
    }
    if (errs.length) {
      g.append(
        s('g', { class: 'error-badge', transform: `translate(${BOX_W - 14},${BOX_H / 2})` },
          s('circle', { r: 10 }), s('text', { 'text-anchor': 'middle', y: 5 }, '!')),
      );
      const lines = errs.flatMap((m) => wrap(m, ERROR_CHARS));
      const width = Math.max(BOX_W, 12 + Math.max(...lines.map((l) => l.length)) * LABEL_CHAR_W);
      callouts.append(
        s('g', { class: 'widget-error', transform: `translate(${p.x},${p.y + BOX_H + 6})`, dataset: { widget: st.name } },
          s('rect', { width, height: 8 + lines.length * ERROR_LINE, rx: 4 }),
          s('text', {}, lines.map((part, i) => s('tspan', { x: 6, y: 15 + i * ERROR_LINE }, part)))),
      );
    }
    if (opts.onSelect && !p.ghost) {
      const select = () => opts.onSelect(st);
      g.addEventListener('click', select);
      g.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          select();
        }
      });
    }
    boxes.append(g);
  };
  ghostPlaced.forEach(drawBox);
  placed.forEach(drawBox);
  return svg;
}

/**
 * Turns API validation errors ({message, property_path: "#/states/3/..."}) into messages
 * per widget, using the definition that was checked. Errors that concern no widget (a
 * missing `initial_state`, JSON that does not parse) come back in `general`.
 */
export function errorsByWidget(definition, errors) {
  const byWidget = new Map();
  const general = [];
  const states = (definition && Array.isArray(definition.states) && definition.states) || [];
  for (const e of errors || []) {
    const m = /^#\/states\/(\d+)(\/|$)/.exec(e.property_path || '');
    const st = m && states[Number(m[1])];
    if (st && st.name) {
      if (!byWidget.has(st.name)) byWidget.set(st.name, []);
      byWidget.get(st.name).push(e.message);
    } else {
      general.push(e);
    }
  }
  return { byWidget, general };
}

/**
 * The path of an execution from its steps (oldest first): which widgets ran, at which step
 * numbers, which transitions were followed, and where it stands now.
 */
export function pathOf(steps, status) {
  const visited = new Map();
  const edges = new Set();
  const see = (name, n) => {
    if (!visited.has(name)) visited.set(name, []);
    visited.get(name).push(n);
  };
  steps.forEach((st, i) => {
    if (st.transitioned_from) see(st.transitioned_from, i + 1);
    if (st.transitioned_from && st.transitioned_to) edges.add(`${st.transitioned_from}→${st.transitioned_to}`);
  });
  const last = steps[steps.length - 1];
  const current = status === 'active' && last ? last.transitioned_to : null;
  if (current && !visited.has(current)) visited.set(current, []);
  return { visited, edges, current };
}
