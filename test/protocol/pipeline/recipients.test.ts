import { describe, expect, it } from 'vitest';
import { mailboxUser, resolveRecipient, type RecipientPolicy } from '../../../src/pipeline/recipients.js';

const policy = (over: Partial<RecipientPolicy> = {}): RecipientPolicy => ({
  domains: new Set(['example.test', 'other.test']),
  aliases: {
    'info@example.test': ['alice', 'bob@other.test', 'partner@outside.example'],
    'loop@example.test': ['loop2'],
    'loop2@example.test': ['loop'],
    'team@example.test': ['info'],
  },
  localUsers: new Set(['alice', 'carol@other.test']),
  unknownLocalUser: 'accept',
  localRoute: 'maildir',
  mailboxExists: (m) => m === 'example.test/existing',
  ...over,
});

describe('resolveRecipient', () => {
  it('accepts a user of our domain into its Maildir, lowercased, +detail removed', () => {
    expect(resolveRecipient('Alice+Lists@Example.TEST', policy())).toEqual({
      result: 'accept',
      targets: [{ address: 'Alice+Lists@Example.TEST', route: 'maildir', mailbox: 'example.test/alice' }],
    });
  });

  it('refuses other domains: no open relay', () => {
    const r = resolveRecipient('someone@elsewhere.example', policy());
    expect(r).toMatchObject({ result: 'reject', code: 'KGM-RELAY-DENIED' });
  });

  it('refuses a subdomain of ours that is not listed', () => {
    expect(resolveRecipient('a@sub.example.test', policy())).toMatchObject({ code: 'KGM-RELAY-DENIED' });
  });

  it('treats a trailing dot on the domain as the same domain', () => {
    expect(resolveRecipient('alice@example.test.', policy())).toMatchObject({ result: 'accept' });
  });

  it.each(['../etc@example.test', 'a/b@example.test', '.hidden@example.test', 'a..b@example.test', 'nul\0x@example.test', '+only@example.test'])(
    'refuses the local part of %j with 5.1.3',
    (address) => {
      expect(resolveRecipient(address, policy())).toMatchObject({ result: 'reject', code: 'KGM-RCPT-BAD-LOCALPART' });
    },
  );

  it('rejects unknown users when told to, but knows listed users and existing Maildirs', () => {
    const strict = policy({ unknownLocalUser: 'reject' });
    expect(resolveRecipient('nobody@example.test', strict)).toMatchObject({ code: 'KGM-RCPT-UNKNOWN' });
    expect(resolveRecipient('alice@other.test', strict)).toMatchObject({ result: 'accept' });
    expect(resolveRecipient('carol@other.test', strict)).toMatchObject({ result: 'accept' });
    expect(resolveRecipient('carol@example.test', strict)).toMatchObject({ code: 'KGM-RCPT-UNKNOWN' });
    expect(resolveRecipient('existing@example.test', strict)).toMatchObject({ result: 'accept' });
  });

  it.each(['postmaster@example.test', 'PostMaster@other.test', 'abuse@example.test', 'postmaster'])(
    'always accepts %s, even when unknown users are rejected',
    (address) => {
      expect(resolveRecipient(address, policy({ unknownLocalUser: 'reject' }))).toMatchObject({ result: 'accept' });
    },
  );

  it('expands an alias to local users and outside addresses', () => {
    expect(resolveRecipient('info@example.test', policy())).toEqual({
      result: 'accept',
      targets: [
        { address: 'info@example.test', route: 'maildir', mailbox: 'example.test/alice' },
        { address: 'info@example.test', route: 'maildir', mailbox: 'other.test/bob' },
        { address: 'info@example.test', route: 'remote', mailbox: 'partner@outside.example' },
      ],
    });
  });

  it('follows nested aliases and refuses a loop instead of accepting mail for nobody', () => {
    expect(resolveRecipient('team@example.test', policy())).toMatchObject({ result: 'accept' });
    const loop = resolveRecipient('loop@example.test', policy());
    expect(loop).toMatchObject({ result: 'reject', code: 'KGM-RCPT-ALIAS-LOOP' });
  });

  it('routes local users to LMTP with the full address when delivery.mode is lmtp', () => {
    expect(resolveRecipient('Alice+x@example.test', policy({ localRoute: 'lmtp' }))).toEqual({
      result: 'accept',
      targets: [{ address: 'Alice+x@example.test', route: 'lmtp', mailbox: 'alice@example.test' }],
    });
  });
});

describe('mailboxUser', () => {
  it('lowercases and strips +detail', () => {
    expect(mailboxUser('Bob+Tag+More')).toBe('bob');
  });
});
