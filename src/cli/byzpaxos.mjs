#!/usr/bin/env node
// The `byzpaxos` bin, in plain JavaScript so that any Node can run it: the CLI itself is
// TypeScript, which Node runs unflagged only from 22.18 (23.6 on the 23 line). An older Node
// gets one line saying what to do instead of ERR_UNKNOWN_FILE_EXTENSION and a stack trace.
// Keep in step with "engines" in package.json.
const [major, minor] = process.versions.node.split('.').map(Number);
const typeStripping = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
if (!typeStripping) {
  process.stderr.write(`byzpaxos: needs Node >= 22.18 (this is v${process.versions.node}); run \`npm install\` and use \`npx byzpaxos\`, which runs the Node it installs\n`);
  process.exitCode = 1;
} else {
  await import('./main.ts');
}
