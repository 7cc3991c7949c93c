// Execution context at a step. A Step's `context` holds only what that widget wrote (a
// delta); the context as the flow saw it after step N is every delta up to N merged in
// order, the way the engine builds it.

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Merges `delta` into `base` (new object; nested objects merge, anything else replaces). */
export function mergeContext(base, delta) {
  if (!isPlainObject(base) || !isPlainObject(delta)) return structuredClone(delta);
  const out = { ...base };
  for (const [k, v] of Object.entries(delta)) {
    out[k] = isPlainObject(v) && isPlainObject(base[k]) ? mergeContext(base[k], v) : structuredClone(v);
  }
  return out;
}

/** [context after step 1, after step 2, …] for steps oldest first. */
export function cumulativeContexts(steps) {
  const out = [];
  let ctx = {};
  for (const st of steps) {
    ctx = mergeContext(ctx, isPlainObject(st.context) ? st.context : {});
    out.push(ctx);
  }
  return out;
}
