/**
 * The MX's certificate: the operator's (tls.cert/tls.key, reloaded on SIGHUP) or, by default, a
 * self-signed one made on first start and kept in DATA/tls/. Opportunistic STARTTLS between MTAs
 * does not verify certificates (RFC 7435), so self-signed is a sound default for the MX;
 * MTA-STS senders need a real one (docs/operations.md).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Where it came from, for the log. */
  source: string;
}

export async function loadOperatorTls(certFile: string, keyFile: string): Promise<TlsMaterial> {
  const [cert, key] = await Promise.all([fs.readFile(certFile), fs.readFile(keyFile)]);
  return { cert, key, source: certFile };
}

export async function ensureSelfSigned(dataDir: string, hostname: string): Promise<TlsMaterial> {
  const dir = path.join(dataDir, 'tls');
  const certFile = path.join(dir, 'selfsigned-cert.pem');
  const keyFile = path.join(dir, 'selfsigned-key.pem');
  try {
    return await loadOperatorTls(certFile, keyFile);
  } catch {
    // Not there yet: make one.
  }
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: hostname }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: hostname }] }],
  } as never);
  await fs.writeFile(keyFile, pems.private, { mode: 0o600 });
  await fs.writeFile(certFile, pems.cert, { mode: 0o644 });
  return { cert: Buffer.from(pems.cert), key: Buffer.from(pems.private), source: certFile };
}
