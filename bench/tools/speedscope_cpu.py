#!/usr/bin/env python3
"""Aggregates a dotnet-trace speedscope file (--profile dotnet-sampled-thread-time --format speedscope) into inclusive
shares of the on-CPU (CPU_TIME) samples, with a few MailApi/Hangfire/Npgsql buckets.  Usage: speedscope_cpu.py FILE [TOP]
On the bench machine the sampler also files threads blocked in a wait under CPU_TIME (Task.SpinWait, ManualResetEventSlim.Wait
lead): read the shares of work frames against each other, and take CPU shares from perf (bench/README.md, "Profiling tools")."""
import json,collections,sys
d=json.load(open(sys.argv[1]))
frames=[f['name'] for f in d['shared']['frames']]
CPU=frames.index('CPU_TIME')
incl=collections.Counter(); total=0; wall=collections.Counter()
for p in d['profiles']:
    stack=[]; last=None
    for e in p['events']:
        t=e['at']
        if last is not None and stack:
            dt=t-last
            if CPU in stack:
                total+=dt
                for n in set(frames[i].split('(')[0] for i in stack): incl[n]+=dt
            else: wall['not on CPU']+=dt
        last=t
        if e['type']=='O': stack.append(e['frame'])
        else:
            if e['frame'] in stack:
                idx=len(stack)-1-stack[::-1].index(e['frame']); del stack[idx:]
print("CPU ms sampled %.0f, off-CPU thread ms %.0f" % (total, wall['not on CPU']))
def share(pat):
    c=[w for n,w in incl.items() if pat in n]
    return 100*max(c)/total if c else 0
for label,pat in [('POST: MessagesApi.Send','MessagesApi.Send'),('POST: MessageSubmitter.SubmitAsync','MessageSubmitter.SubmitAsync'),('POST: ValidationFilter','ValidationFilter'),('Hangfire BackgroundJobClient.Create','BackgroundJobClient.Create'),('Hangfire worker loop','Hangfire.Server.Worker.Execute'),('DeliveryJob.RunAsync','DeliveryJob.RunAsync'),('SmtpDelivery.SendAsync','SmtpDelivery.SendAsync'),('PostgreSqlMessageStore (any)','PostgreSqlMessageStore'),('Hangfire fetch (FetchNextJob)','FetchNextJob'),('Hangfire state changer','BackgroundJobStateChanger.ChangeState'),('Kestrel HttpProtocol','HttpProtocol.ProcessRequests')]:
    print("%-42s %5.1f%%" % (label, share(pat)))
print("--- top inclusive")
for n,w in incl.most_common(int(sys.argv[2]) if len(sys.argv)>2 else 50): print("%5.1f%% %s" % (100*w/total, n[:140]))
