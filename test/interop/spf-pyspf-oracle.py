#!/usr/bin/python3
"""pyspf (Debian python3-spf) as an SPF oracle for test/interop/spf-pyspf.test.ts.

Reads {"cases": [{"ip", "sender", "helo", "port"}]} as JSON on stdin and writes one JSON list
of {"result", "explanation", "message", "relaxedVoid"} to stdout. pyspf resolves through
dnspython; its default resolver is pointed at the test's zone server on 127.0.0.1:<port>,
so pyspf and Kagami read the same zone over the same wire.

`relaxedVoid` is pyspf's result again with its void-lookup limit lifted, computed only when
the first answer was a void-lookup permerror: the test uses it to tell pyspf's per-query void
counting apart from any other disagreement (see spf-pyspf-differences.md).
"""
import json
import sys
import warnings

warnings.simplefilter('ignore')  # dnspython 2 deprecates dns.resolver.query(), which pyspf calls

import dns.resolver  # noqa: E402
import spf  # noqa: E402

OLD_NAMES = {'unknown': 'permerror', 'error': 'temperror'}
DEFAULT_VOID_LIMIT = spf.MAX_VOID_LOOKUPS


def point_at(port):
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ['127.0.0.1']
    resolver.port = port
    resolver.timeout = 0.4
    resolver.lifetime = 0.4
    dns.resolver.default_resolver = resolver


def check(case):
    q = spf.query(i=case['ip'], s=case['sender'], h=case['helo'], timeout=0.4)
    q.set_default_explanation('DEFAULT')
    result, _code, explanation = q.check()
    return OLD_NAMES.get(result, result), explanation


def run(case):
    point_at(case['port'])
    spf.MAX_VOID_LOOKUPS = DEFAULT_VOID_LIMIT
    try:
        result, explanation = check(case)
    except Exception as e:  # a crash is reported, not hidden
        return {'result': 'exception', 'explanation': None, 'message': repr(e), 'relaxedVoid': None}
    out = {'result': result, 'explanation': explanation if result == 'fail' else None, 'message': explanation, 'relaxedVoid': None}
    if result == 'permerror' and 'Void lookup limit' in (explanation or ''):
        spf.MAX_VOID_LOOKUPS = 10 ** 6
        try:
            out['relaxedVoid'] = check(case)[0]
        finally:
            spf.MAX_VOID_LOOKUPS = DEFAULT_VOID_LIMIT
    return out


def main():
    cases = json.load(sys.stdin)['cases']
    json.dump([run(c) for c in cases], sys.stdout)


if __name__ == '__main__':
    main()
