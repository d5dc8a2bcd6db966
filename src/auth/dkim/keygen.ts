/**
 * DKIM key generation: a private key for the key store and the TXT value to publish at
 * `selector._domainkey.domain` (RFC 6376 3.6.1; RFC 8463 4.2 for Ed25519).
 */
import { generateKeyPairSync } from 'node:crypto';

export interface DkimKeygenOptions {
  algorithm: 'rsa2048' | 'ed25519';
}

export interface DkimGeneratedKey {
  /** PKCS#8 PEM of the private key. */
  privateKeyPem: string;
  /** The TXT record value, e.g. `v=DKIM1; k=rsa; p=MIIB...`. */
  dnsValue: string;
  /**
   * The same value cut into character-strings of at most 255 octets (RFC 1035 3.3.14), the way
   * a zone file must hold an RSA-2048 record: `"v=DKIM1; k=rsa; p=MIIB..." "...IDAQAB"`.
   */
  txtStrings: string[];
  /** The `a=` this key signs with. */
  signingAlgorithm: 'rsa-sha256' | 'ed25519-sha256';
}

export function generateDkimKey(options: DkimKeygenOptions): DkimGeneratedKey {
  if (options.algorithm === 'rsa2048') {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // RFC 6376 3.6.1: p= is the base64 of the DER SubjectPublicKeyInfo.
    const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    return result(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), `v=DKIM1; k=rsa; p=${p}`, 'rsa-sha256');
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  // RFC 8463 4.2: p= is the raw 32-byte public key: the JWK "x" member, base64url → base64.
  const jwk = publicKey.export({ format: 'jwk' });
  const p = Buffer.from(jwk.x!, 'base64url').toString('base64');
  return result(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), `v=DKIM1; k=ed25519; p=${p}`, 'ed25519-sha256');
}

function result(privateKeyPem: string, dnsValue: string, signingAlgorithm: DkimGeneratedKey['signingAlgorithm']): DkimGeneratedKey {
  const txtStrings: string[] = [];
  for (let i = 0; i < dnsValue.length; i += 255) txtStrings.push(dnsValue.slice(i, i + 255));
  return { privateKeyPem, dnsValue, txtStrings, signingAlgorithm };
}
