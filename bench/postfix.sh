#!/usr/bin/env bash
# A throw-away Postfix for the benchmark only: its own config, queue and log under a directory in /tmp,
# one smtpd on 127.0.0.1:PORT, no AUTH, no TLS, and every message discarded after it was queued
# (discard transport, no smtp client in master.cf): nothing can leave the machine.
#   bench/postfix.sh start PORT DIR     start it (waits for the 220)
#   bench/postfix.sh stop DIR           stop it and remove DIR
set -euo pipefail
cmd=${1:?start PORT DIR | stop DIR}

if [ "$cmd" = stop ]; then
    dir=${2:?DIR}
    /usr/sbin/postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
    for _ in $(seq 50); do [ -f "$dir/queue/pid/master.pid" ] || break; sleep 0.1; done
    rm -rf "$dir"
    exit 0
fi

port=${2:?PORT}; dir=${3:?DIR}
mkdir -p "$dir/etc" "$dir/queue" "$dir/data" "$dir/log"
chown postfix:postfix "$dir/data"
touch "$dir/log/postfix.log"
cat > "$dir/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-mailapi-bench
maillog_file_prefixes = $dir/log
maillog_file = $dir/log/postfix.log
myhostname = bench.localhost
mydomain = localhost
myorigin = bench.localhost
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
alias_maps =
alias_database =
relayhost =
default_transport = discard
relay_transport = discard
local_transport = discard
virtual_transport = discard
smtpd_banner = \$myhostname ESMTP Postfix
EOF
cat > "$dir/etc/master.cf" <<EOF
127.0.0.1:$port inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
if ! /usr/sbin/postfix -c "$dir/etc" start >/dev/null 2>&1; then
    script -qec "/usr/sbin/postfix -c $dir/etc start" /dev/null >&2 || true
    exit 1
fi
for _ in $(seq 100); do
    if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 3 <&3" 2>/dev/null | grep -q 220; then exit 0; fi
    sleep 0.1
done
echo "Postfix did not answer on 127.0.0.1:$port" >&2
exit 1
