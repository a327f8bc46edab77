#!/usr/bin/env bash
# One relay, then two relays of equal priority (a Relays list), each an smtp-sink on 127.0.0.1, end to end:
# N messages (~2 KB) POSTed as batches of 100, 8 requests at a time; timed until none is queued, sending or deferred.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-3000}
dotnet build -c Release "$root/src/MailApi" -v q -nologo > /dev/null
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
s1=$(free); s2=$(free)
/usr/sbin/smtp-sink -u nobody -h sink.localhost "127.0.0.1:$s1" 256 & p1=$!
/usr/sbin/smtp-sink -u nobody -h sink.localhost "127.0.0.1:$s2" 256 & p2=$!
svc=
trap 'kill $p1 $p2 2> /dev/null || true; [ -n "$svc" ] && kill $svc 2> /dev/null || true; rm -rf "$work"' EXIT
python3 -c "import json; m={'from':'Zotrim <zotrim@domain.local>','to':['student@domain.local'],'subject':'Bench','text':'x'*2000}; print(json.dumps({'messages':[m]*100}))" > "$work/batch.json"
count() { curl -s -H 'X-Api-Key: bench-key' "http://127.0.0.1:$1/v1/messages?status=$2&limit=1" | grep -o '"id"' | wc -l; }
run() {
    local label=$1; shift
    local port; port=$(free)
    env ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$port" Auth__ApiKeys__0__Name=bench \
        Auth__ApiKeys__0__Key=bench-key Auth__ApiKeys__0__AllowedSenders__0='*' Delivery__Workers=16 \
        Smtp__Pool__MaxConnections=16 Smtp__Security=None "$@" \
        dotnet "$root/src/MailApi/bin/Release/net10.0/MailApi.dll" > "$work/$label.log" 2>&1 & svc=$!
    until curl -sf "http://127.0.0.1:$port/health/ready" > /dev/null; do sleep 0.2; done
    local start; start=$(date +%s.%N)
    seq $((n / 100)) | xargs -P 8 -I{} curl -sf -o /dev/null -H 'X-Api-Key: bench-key' -H 'Content-Type: application/json' \
        --data-binary @"$work/batch.json" "http://127.0.0.1:$port/v1/messages/batch"
    while [ $(( $(count "$port" queued) + $(count "$port" sending) + $(count "$port" deferred) )) -gt 0 ]; do sleep 0.1; done
    local end; end=$(date +%s.%N)
    # Which relay took each message (the list, page by page).
    local split; split=$(python3 - "$port" << 'PY'
import json, sys, urllib.request, collections
port, cursor, seen, failed_over = sys.argv[1], None, collections.Counter(), 0
while True:
    url = f"http://127.0.0.1:{port}/v1/messages?limit=100" + (f"&cursor={cursor}" if cursor else "")
    page = json.load(urllib.request.urlopen(urllib.request.Request(url, headers={"X-Api-Key": "bench-key"})))
    for item in page["items"]:
        m = json.load(urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/v1/messages/{item['id']}", headers={"X-Api-Key": "bench-key"})))
        seen[(m["status"], m["upstream"])] += 1
        failed_over += sum(1 for a in m["attempts"] if a["failedOver"])
    cursor = page["nextCursor"]
    if not cursor:
        break
print(", ".join(f"{k[0]} via {k[1]}: {v}" for k, v in sorted(seen.items())) + f"; attempts that failed over: {failed_over}")
PY
)
    printf '%-34s %6d messages in %6.2f s = %6.0f msg/s   (%s)\n' "$label" "$n" "$(echo "$end - $start" | bc)" \
        "$(echo "$n / ($end - $start)" | bc -l)" "$split"
    kill $svc; wait $svc 2> /dev/null || true; svc=
}
run "one relay (Smtp)" Smtp__Host=127.0.0.1 Smtp__Port="$s1"
run "two relays, equal priority" Relays__0__Name=a Relays__0__Host=127.0.0.1 Relays__0__Port="$s1" Relays__0__Security=None \
    Relays__1__Name=b Relays__1__Host=127.0.0.1 Relays__1__Port="$s2" Relays__1__Security=None
run "two relays, the first refused" Relays__0__Name=down Relays__0__Host=127.0.0.1 Relays__0__Port="$(free)" Relays__0__Security=None \
    Relays__1__Name=b Relays__1__Host=127.0.0.1 Relays__1__Port="$s2" Relays__1__Security=None Relays__1__Priority=1
