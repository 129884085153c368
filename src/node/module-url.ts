// A sibling module's URL in the form this code runs in: the TypeScript sources in a checkout
// (Node strips their types), the compiled JavaScript in an installed package (Node does not strip
// types under node_modules). Only for paths handed to spawn or Worker, which tsc cannot rewrite.

/** `relative` names a `.ts` module; the URL ends in `.js` when `base` (an import.meta.url) does. */
export function siblingModuleUrl(relative: string, base: string): URL {
  if (!relative.endsWith('.ts')) throw new RangeError(`siblingModuleUrl: '${relative}' does not name a .ts module`);
  const compiled = base.endsWith('.js');
  return new URL(compiled ? `${relative.slice(0, -'.ts'.length)}.js` : relative, base);
}
