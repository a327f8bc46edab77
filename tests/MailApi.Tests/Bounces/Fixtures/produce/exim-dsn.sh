#!/usr/bin/env bash
# Produces the Exim DSN fixture with Debian's Exim 4.96, unpacked (never installed) into /tmp/exim, beside the
# fixture Postfix of postfix-dsns.sh (which refuses hard.test on PORT+1 and delivers the DSN to its Maildir).
#   bash exim-dsn.sh    # then send with send.py to port 10127 a message for nobody@hard.test
set -euo pipefail
X=/tmp/exim; HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p $X/spool $X/log && cd $X
[ -x root/usr/sbin/exim4 ] || {
    apt-get download exim4-daemon-light exim4-base exim4-config libidn12
    for d in *.deb; do dpkg -x "$d" root; done
    # Not setuid: else the loader ignores LD_LIBRARY_PATH in the bounce process it re-executes.
    chmod u-s root/usr/sbin/exim4
}
id Debian-exim >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin Debian-exim
chown -R Debian-exim $X/spool $X/log
cp "$HERE/exim.conf" $X/exim.conf
LD_LIBRARY_PATH=$X/root/usr/lib/x86_64-linux-gnu root/usr/sbin/exim4 -C $X/exim.conf -bd -q5s -oP $X/exim.pid
echo "exim on 127.0.0.1:10127 (pid $(cat $X/exim.pid)); stop with: kill \$(cat $X/exim.pid)"
