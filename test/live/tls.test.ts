/**
 * STARTTLS with the operator's certificate, replaced on disk and reloaded on SIGHUP without a
 * restart; and the self-signed default made once and kept in DATA/tls/.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZoneServer, type ZoneServer } from '../../src/dns/zone-server.js';
import { runKagami, type LiveKagami } from '../support/live.js';
import { tempDir } from '../support/server.js';

let dns: ZoneServer;
const running: LiveKagami[] = [];
beforeAll(async () => {
  dns = await startZoneServer({});
});
afterAll(async () => {
  for (const k of running) k.proc.kill('SIGKILL');
  await dns.close();
});

/** EHLO, STARTTLS, and the common name of the certificate the server presents. */
async function certificateName(port: number): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (re.test(buffer)) {
          socket.off('data', onData);
          resolve();
        }
      };
      const onData = (d: Buffer) => {
        buffer += d.toString('latin1');
        check();
      };
      socket.on('data', onData);
      socket.once('error', reject);
      check();
    });
  await waitFor(/^220 .*\r\n/m);
  socket.write('EHLO tls.test\r\n');
  await waitFor(/^250 .*\r\n/m);
  expect(buffer).toMatch(/250-STARTTLS/);
  buffer = '';
  socket.write('STARTTLS\r\n');
  await waitFor(/^220 /m);
  const secure = tls.connect({ socket, rejectUnauthorized: false, servername: 'mx.tls.test' });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  const cn = secure.getPeerCertificate().subject?.CN;
  secure.destroy();
  return String(cn);
}

async function makeCert(cn: string): Promise<{ cert: string; key: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], { keySize: 2048, algorithm: 'sha256' } as never);
  return { cert: pems.cert, key: pems.private };
}

describe('TLS', () => {
  it("offers STARTTLS with the operator's certificate and picks up a new one on SIGHUP", async () => {
    const dir = tempDir('kagami-tls-');
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    const first = await makeCert('first.tls.test');
    writeFileSync(certFile, first.cert);
    writeFileSync(keyFile, first.key);
    const k = runKagami(['serve', '--data', dir, '--smtp-port', '0', '--dns', dns.address, '--tls-cert', certFile, '--tls-key', keyFile], dir);
    running.push(k);
    const { smtp } = await k.ports;
    expect(await certificateName(smtp!)).toBe('first.tls.test');

    const second = await makeCert('second.tls.test');
    writeFileSync(certFile, second.cert);
    writeFileSync(keyFile, second.key);
    k.proc.kill('SIGHUP');
    const deadline = Date.now() + 5000;
    let name = '';
    while (Date.now() < deadline && (name = await certificateName(smtp!)) !== 'second.tls.test') {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(name).toBe('second.tls.test');
    expect(k.output()).toMatch(/TLS certificate reloaded/);
    k.proc.kill('SIGTERM');
    expect((await k.exited).code).toBe(0);
  });

  it('makes a self-signed certificate for the host name on first start and keeps it', async () => {
    const dir = tempDir('kagami-tls-');
    const args = ['serve', '--data', dir, '--smtp-port', '0', '--dns', dns.address, '--hostname', 'mx.self.test'];
    const k1 = runKagami(args, dir);
    running.push(k1);
    expect(await certificateName((await k1.ports).smtp!)).toBe('mx.self.test');
    const pem = readFileSync(path.join(dir, 'tls', 'selfsigned-cert.pem'), 'utf8');
    k1.proc.kill('SIGTERM');
    await k1.exited;
    const k2 = runKagami(args, dir);
    running.push(k2);
    await k2.ports;
    expect(readFileSync(path.join(dir, 'tls', 'selfsigned-cert.pem'), 'utf8')).toBe(pem);
    k2.proc.kill('SIGTERM');
    await k2.exited;
  });
});
