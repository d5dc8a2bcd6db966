/**
 * The words of a result: the reason an operator reads (RFC 7208 2.6 meanings) and the domain
 * owner's explanation fetched through exp= on "fail" (RFC 7208 6.2).
 */
import { classifyDnsAnswer } from './dns.js';
import { compileMacroString, type CompileResult } from './macro.js';
import { ask, note, traced, type Check, type Outcome, type Place } from './check.js';
import { expand } from './mechanisms.js';
import { queryableName, toTargetName } from './names.js';
import type { SpfRecord } from './types.js';

/**
 * RFC 7208 6.2: the explanation of the record that produced "fail", expanded with that record's
 * domain. Any problem (DNS error, not exactly one TXT record, bad syntax, non-ASCII text) means
 * no explanation; the lookup counts against no limit (RFC 7208 4.6.4).
 */
export async function explain(check: Check, record: SpfRecord, domain: string): Promise<string | undefined> {
  if (record.exp === undefined) return undefined;
  const place: Place = { domain, depth: 0, term: `exp=${record.exp.source}` };
  const name = toTargetName(await expand(check, record.exp, domain, place));
  if (!queryableName(name)) return undefined;
  const answer = traced(check, place, name, 'TXT', await ask(check, name, 'TXT'));
  if (classifyDnsAnswer(answer, 'exp') !== 'records' || answer.kind !== 'records') return ignored(check, 'no TXT record');
  if (answer.records.length !== 1) return ignored(check, `${answer.records.length} TXT records, not exactly one`);
  const compiled = compiledExplanation(answer.records[0]!);
  if (!compiled.ok) return ignored(check, compiled.message);
  return expand(check, compiled.macro, domain, place);
}

/** Compiled explanation texts by text: compiling is pure. */
const explanations = new Map<string, CompileResult>();
const CACHE_SIZE = 1024;

function compiledExplanation(text: string): CompileResult {
  let compiled = explanations.get(text);
  if (compiled === undefined) {
    compiled = compileMacroString(text, 'explanation');
    if (explanations.size >= CACHE_SIZE) explanations.clear();
    explanations.set(text, compiled);
  }
  return compiled;
}

function ignored(check: Check, why: string): undefined {
  note(check, `explanation ignored: ${why} (RFC 7208 6.2)`);
  return undefined;
}

/** The reason in words, for the domain check_host() was asked about. */
export function reasonFor(check: Check, domain: string, outcome: Outcome): string {
  const ip = check.ipText;
  switch (outcome.result) {
    case 'pass':
      return `${ip} is permitted by ${domain}: ${outcome.detail}`;
    case 'fail':
      return `${ip} is not permitted by ${domain}: ${outcome.detail}`;
    case 'softfail':
      return `${ip} is probably not permitted by ${domain} (softfail, "~"): ${outcome.detail}`;
    case 'neutral':
      return `${domain} makes no assertion about ${ip} (neutral): ${outcome.detail}`;
    case 'none':
      return `no SPF policy to check: ${outcome.detail}`;
    case 'permerror':
      return `the SPF policy of ${domain} cannot be applied (permerror): ${outcome.detail}`;
    case 'temperror':
      return `the SPF check of ${domain} could not finish (temperror), try again later: ${outcome.detail}`;
  }
}
