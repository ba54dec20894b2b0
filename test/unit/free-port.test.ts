/**
 * The tests' and bench's servers take their ports from `freePort`; a port inside the ephemeral range
 * can be taken by an outgoing connection before the server listens, so it must come from below it.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { freePort } from '../support/azurite';

const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

test('ports come from below the ephemeral range, distinct, and can be listened on', async () => {
  const ports: number[] = [];
  for (let i = 0; i < 50; i += 1) ports.push(await freePort());
  expect(new Set(ports).size).toBe(ports.length);
  for (const port of ports) expect(port).toBeLessThan(ephemeralLow);
  const servers = await Promise.all(ports.map(listenOn));
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});
