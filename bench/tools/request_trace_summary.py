#!/usr/bin/env python3
"""Summarises a MAILAPI_BENCH_TRACE file (bench/MailApi.BenchProbe): per POST /v1/messages, the Npgsql commands run
under the request (calls, mean and p50 ms each) and the time outside them.  Usage: request_trace_summary.py FILE"""
import json,collections,sys,statistics
rows=[]
for l in open(sys.argv[1], errors='replace'):
    l=l.strip('\x00\n ')
    if not l: continue
    try: rows.append(json.loads(l, strict=False))
    except Exception: pass
rows=[r for r in rows if r['cmds'] or True]
post=[r for r in rows if any('mailapi_messages' in c[0] and c[0].startswith('insert') for c in r['cmds'])]
print("requests", len(rows), "POSTs", len(post))
def lab(t):
    t=t.lower()
    if 'count(*)' in t and 'mailapi' in t: return 'mailapi count(*) backlog'
    if t.startswith('insert into mailapi_messages'): return 'mailapi insert (tx)'
    if 'hangfire' in t:
        w=t.replace('"','').split()
        return 'hangfire '+' '.join(w[:4])
    return t[:40]
tot=[r['ms'] for r in post]
print("POST total ms: mean %.2f p50 %.2f" % (statistics.mean(tot), statistics.median(tot)))
agg=collections.defaultdict(list); n=collections.Counter()
gaps=[]
for r in post:
    per=collections.defaultdict(float)
    cov=0
    for t,s,ms in r['cmds']:
        per[lab(t)]+=ms; n[lab(t)]+=1; cov+=ms
    for k,v in per.items(): agg[k].append(v)
    gaps.append(r['ms']-cov)
print("%-50s %8s %8s %8s" % ("step","calls/POST","mean ms","p50 ms"))
for k,v in sorted(agg.items(), key=lambda kv:-sum(kv[1])):
    v2=v+[0]*(len(post)-len(v))
    print("%-50s %8.2f %8.2f %8.2f" % (k, n[k]/len(post), statistics.mean(v2), statistics.median(v2)))
print("%-50s %8s %8.2f %8.2f" % ("outside Npgsql commands (code, pool, waits)","",statistics.mean(gaps),statistics.median(gaps)))
