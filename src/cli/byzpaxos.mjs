#!/usr/bin/env node
// The `byzpaxos` bin, in plain JavaScript so that any Node can run it. In a checkout the
// TypeScript sources sit beside it and run directly (Node strips their types from 22.18, 23.6 on
// the 23 line); an older Node gets one line saying what to do instead of a stack trace. An
// installed package ships no sources, only the compiled build (Node strips no types under
// node_modules), so that is what runs there. Keep in step with "engines" in package.json.
import { existsSync } from 'node:fs';

const source = new URL('./main.ts', import.meta.url);
if (existsSync(source)) {
  const [major, minor] = process.versions.node.split('.').map(Number);
  const typeStripping = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
  if (!typeStripping) {
    process.stderr.write(`byzpaxos: needs Node >= 22.18 (this is v${process.versions.node}); run \`npm install\` and use \`npx byzpaxos\`, which runs the Node it installs\n`);
    process.exitCode = 1;
  } else {
    await import(source.href);
  }
} else {
  await import('../../dist/src/cli/main.js');
}
