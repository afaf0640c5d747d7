#!/usr/bin/env python3
"""Print the PIN_SIZE/PIN_OFF rows of tests/unit/test_abi.c from the current
include/crmsync/plugin.h. Run it by hand ONLY when you deliberately change the
ABI (appending members and bumping the minor, or bumping the major), paste the
rows into test_abi.c, and record the change in the header's change list. The
test exists to catch accidental layout changes; never regenerate to silence it.

    python3 tests/unit/abi-pins.py include/crmsync/plugin.h
"""
import re
import subprocess
import sys
import tempfile


def members(body):
    body = re.sub(r'/\*.*?\*/', '', body, flags=re.S)
    body = re.sub(r'union \{[^}]*\} (\w+);', r'UNION \1;', body)
    out = []
    for stmt in body.split(';'):
        stmt = stmt.strip()
        if not stmt:
            continue
        m = re.search(r'\(\*\s*(\w+)\)\s*\(', stmt)
        if m:
            out.append(m.group(1))
            continue
        if stmt.startswith('UNION'):
            out.append(stmt.split()[1])
            continue
        names = [n.strip().lstrip('*') for n in stmt.split(',')]
        out.append(re.findall(r'[\*\s](\w+)$', ' ' + names[0])[0])
        out.extend(re.sub(r'\W', '', n) for n in names[1:])
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else 'include/crmsync/plugin.h'
    hdr = open(path).read()
    structs = [(m.group(3), m.group(2)) for m in
               re.finditer(r'typedef struct (\w+) \{(.*?)\n\} (\w+);', hdr, re.S)]
    structs += [('struct ' + m.group(1), m.group(2)) for m in
                re.finditer(r'\nstruct (\w+) \{(.*?)\n\};', hdr, re.S)]
    gen = ['#include <crmsync/plugin.h>', '#include <stdio.h>', 'int main(void){']
    for t, body in structs:
        gen.append('printf("\\tPIN_SIZE(%s, %%zu),\\n", sizeof(%s));' % (t, t))
        for mb in members(body):
            gen.append('printf("\\tPIN_OFF(%s, %s, %%zu),\\n", offsetof(%s, %s));'
                       % (t, mb, t, mb))
    gen.append('return 0;}')
    inc = path.rsplit('/crmsync/', 1)[0]
    with tempfile.TemporaryDirectory() as d:
        open(d + '/g.c', 'w').write('\n'.join(gen))
        subprocess.check_call(['cc', '-I', inc, d + '/g.c', '-o', d + '/g'])
        sys.stdout.write(subprocess.check_output([d + '/g']).decode())


main()
