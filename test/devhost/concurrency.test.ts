/** Many instances at once: 200 orchestrations started together all complete. */
import { ensureBuilt, eventually, prepareFixtureApp, removeDir, spawnHost, startAzurite, type HostProcess, type TestAzurite } from './support';

let azurite: TestAzurite;
let host: HostProcess;
let appDir: string;

beforeAll(async () => {
  ensureBuilt();
  azurite = await startAzurite();
  appDir = prepareFixtureApp();
  host = await spawnHost(appDir, { AzureWebJobsStorage: azurite.connectionString });
}, 60_000);

afterAll(async () => {
  await host?.kill('SIGTERM');
  await azurite?.stop();
  removeDir(appDir);
});

test('200 orchestrations started at once all complete with their own results', async () => {
  const W = `${host.url}/runtime/webhooks/durabletask`;
  const ids = Array.from({ length: 200 }, (_, i) => `many-${String(i).padStart(3, '0')}`);
  const starts = await Promise.all(
    ids.map((id, i) => fetch(`${W}/orchestrators/Chain/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: String(i) })),
  );
  expect(starts.every((r) => r.status === 202)).toBe(true);
  const done = await eventually(
    async () => {
      const res = await fetch(`${W}/instances?instanceIdPrefix=many-&runtimeStatus=Completed&top=1000`);
      const list = (await res.json()) as { instanceId: string; output: number }[];
      return list.length === 200 ? list : undefined;
    },
    120_000,
    'all 200 instances to complete',
  );
  for (const s of done) expect(s.output).toBe(Number(s.instanceId.slice(5)) * 8);
}, 180_000);
