// One member of a LocalCluster on its own worker thread (local-cluster.ts, `threads`): starts the
// member from the spec it is handed, answers stats requests, and on 'stop' stops it and lets the
// thread end.
import { parentPort, workerData } from 'node:worker_threads';
import { InProcessMember, type FromWorker, type MemberSpec, type ToWorker } from './local-cluster.ts';

const port = parentPort;
if (port === null) throw new Error('local-member-worker.ts runs on a worker thread only');
const post = (msg: FromWorker): void => port.postMessage(msg);

let member: InProcessMember;
try {
  member = await InProcessMember.start(workerData as MemberSpec);
} catch (e) {
  post({ type: 'failed', message: e instanceof Error ? e.message : String(e) });
  port.close();
  throw e;
}
post({ type: 'started', peerId: member.peerId, addrs: member.addrs });
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'stats') return post({ type: 'stats', nonce: msg.nonce, stats: member.statsNow() });
  void member.stop().then(() => {
    post({ type: 'stopped' });
    port.close();
  });
});
