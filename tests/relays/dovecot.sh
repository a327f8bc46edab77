#!/usr/bin/env bash
# A real Dovecot IMAP server on 127.0.0.1 only, in an instance of its own under a folder of its own: the bounce mailbox
# the tests' IMAP reader reads.
#
#   bash tests/relays/dovecot.sh start [--maildir PATH] [PORT [DIR]]   # installs dovecot-imapd (apt-get) when missing,
#                                                                      # starts or reconfigures; idempotent
#   bash tests/relays/dovecot.sh stop [DIR]      # stops it; nothing of it keeps running (the Maildir stays)
#   bash tests/relays/dovecot.sh status [DIR]    # exit 0 when it answers on its port
#
# DIR defaults to $MAILAPI_DOVECOT_DIR, else /tmp/mailapi-dovecot; PORT to $MAILAPI_DOVECOT_PORT, else 10143.
# Its own config file (dovecot -c DIR/dovecot.conf), base_dir, state_dir and log (DIR/log/dovecot.log) under DIR; IMAP
# only, plaintext LOGIN/PLAIN without TLS (loopback only), no other listener. One user, "bounces", from a passwd-file,
# whose mail is the Maildir PATH (default DIR/Maildir, emptied at each start; a PATH given is never emptied). Dovecot
# reads and writes that Maildir as the uid/gid that own it, so it can serve a Maildir that Postfix's virtual(8) fills
# (root-owned is refused: Dovecot never runs mail access as root). Folders nest with "/" (MailApi/Processed), stored
# Maildir++ style (.MailApi.Processed). The callers read DIR/dovecot.env.
set -euo pipefail

log() { echo "dovecot.sh: $*" >&2; }
usage() { echo "usage: $0 start [--maildir PATH] [PORT [DIR]] | stop [DIR] | status [DIR]" >&2; exit 2; }

cmd=${1:-}; [ $# -gt 0 ] && shift
MAILDIR=
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --maildir) MAILDIR=${2:?--maildir PATH}; shift 2 ;;
        --maildir=*) MAILDIR=${1#--maildir=}; shift ;;
        -*) usage ;;
        *) args+=("$1"); shift ;;
    esac
done
if [ "$cmd" = start ]; then
    PORT=${args[0]:-${MAILAPI_DOVECOT_PORT:-10143}}; DIR=${args[1]:-${MAILAPI_DOVECOT_DIR:-/tmp/mailapi-dovecot}}
else
    DIR=${args[0]:-${MAILAPI_DOVECOT_DIR:-/tmp/mailapi-dovecot}}
fi
CONF=$DIR/dovecot.conf
PIDFILE=$DIR/run/master.pid
USER_=bounces
PASSWORD=bounces-imap-secret

need_root() {
    [ "$(id -u)" = 0 ] || { log "must run as root (it installs packages, and Dovecot switches to the Maildir's owner)"; exit 1; }
}

install_packages() {
    [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] && return 0
    log "installing dovecot-imapd"
    # The package's own instance is not started here (no init in containers); this script never starts it.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
    fi
}

master_pid() { cat "$PIDFILE" 2>/dev/null | tr -d ' ' || true; }

running() { local pid; pid=$(master_pid); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

answers() { # port
    timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 4 <&3" 2>/dev/null | grep -q '^\* OK'
}

configure() {
    local owner uid gid home
    if [ -z "$MAILDIR" ]; then
        # The default Maildir is this instance's own: emptied at each start, owned by nobody like Postfix's virtual(8) mail.
        MAILDIR=$DIR/Maildir
        rm -rf "$MAILDIR"
        mkdir -p "$MAILDIR"/{cur,new,tmp}
        chown -R nobody:nogroup "$MAILDIR"
        chmod 700 "$MAILDIR"
    elif [ ! -d "$MAILDIR" ]; then
        mkdir -p "$MAILDIR"/{cur,new,tmp}
        chown -R nobody:nogroup "$MAILDIR"
    fi
    MAILDIR=$(cd "$MAILDIR" && pwd)
    owner=$(stat -c '%u:%g' "$MAILDIR")
    uid=${owner%%:*}; gid=${owner##*:}
    [ "$uid" != 0 ] || { log "$MAILDIR is owned by root; Dovecot never reads mail as root (chown it to the user that delivers it)"; exit 1; }
    home=$MAILDIR

    mkdir -p "$DIR/run" "$DIR/state" "$DIR/log"
    # Dovecot's own users (dovecot, dovenull) reach the passwd-file and sockets under DIR: a private DIR (mktemp -d) is 0700.
    chmod a+rx "$DIR"
    touch "$DIR/log/dovecot.log"
    echo "$USER_:{PLAIN}$PASSWORD:$uid:$gid::$home::" > "$DIR/users"
    chown root:dovecot "$DIR/users"
    chmod 640 "$DIR/users"
    # Say it here rather than as Dovecot's "Temporary authentication failure" at the first login.
    if ! setpriv --reuid=dovecot --regid=dovecot --clear-groups test -r "$DIR/users"; then
        log "Dovecot's user cannot reach $DIR/users: a folder above $DIR is closed to others (chmod o+x it, or use another DIR)"
        exit 1
    fi
    if ! setpriv --reuid="$uid" --regid="$gid" --clear-groups test -w "$MAILDIR"; then
        log "uid $uid, the owner of $MAILDIR, cannot write into it: a folder above it is closed to that user (chmod o+x it)"
        exit 1
    fi

    cat > "$CONF" <<EOF
# MailApi test Dovecot: see tests/relays/dovecot.sh. Generated; do not edit.
instance_name = mailapi-dovecot
protocols = imap
listen = 127.0.0.1
base_dir = $DIR/run
state_dir = $DIR/state
log_path = $DIR/log/dovecot.log
info_log_path = $DIR/log/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:$MAILDIR
# The Maildir's owner may be a system user (Postfix's virtual(8) delivers as nobody, or as any uid it is told).
first_valid_uid = 1
first_valid_gid = 1
namespace inbox {
  inbox = yes
  separator = /
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DIR/users
}
userdb {
  driver = passwd-file
  args = username_format=%u $DIR/users
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
# Tests, benchmarks and several service instances log in as the one user from 127.0.0.1 at once.
protocol imap {
  mail_max_userip_connections = 500
}
EOF

    cat > "$DIR/dovecot.env" <<EOF
DOVECOT_HOST=127.0.0.1
DOVECOT_PORT=$PORT
DOVECOT_USER=$USER_
DOVECOT_PASSWORD=$PASSWORD
DOVECOT_MAILDIR=$MAILDIR
DOVECOT_CONFIG=$CONF
DOVECOT_LOG=$DIR/log/dovecot.log
EOF
    chmod 644 "$DIR/dovecot.env"
}

start() {
    need_root
    install_packages
    if running && grep -qx "DOVECOT_PORT=$PORT" "$DIR/dovecot.env" 2>/dev/null \
        && { [ -z "$MAILDIR" ] || grep -qx "DOVECOT_MAILDIR=$(cd "$MAILDIR" 2>/dev/null && pwd)" "$DIR/dovecot.env"; } \
        && answers "$PORT"; then
        log "already running on 127.0.0.1:$PORT ($(sed -n 's/^DOVECOT_MAILDIR=//p' "$DIR/dovecot.env"))"
        return 0
    fi
    running && stop_master
    mkdir -p "$DIR"
    configure
    if ! /usr/sbin/dovecot -c "$CONF" 2> "$DIR/log/start.err"; then
        cat "$DIR/log/start.err" >&2
        tail -20 "$DIR/log/dovecot.log" >&2
        log "dovecot start failed"
        exit 1
    fi
    for _ in $(seq 1 50); do
        if answers "$PORT"; then
            log "running on 127.0.0.1:$PORT, user $USER_, Maildir $MAILDIR; config $CONF, log $DIR/log/dovecot.log"
            return 0
        fi
        sleep 0.2
    done
    tail -20 "$DIR/log/dovecot.log" >&2
    log "dovecot does not answer on 127.0.0.1:$PORT"
    exit 1
}

stop_master() {
    local pid
    pid=$(master_pid)
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    # The master takes its children with it.
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    need_root
    stop_master
    rm -f "$DIR/dovecot.env"
    log "stopped"
}

status() {
    [ -f "$DIR/dovecot.env" ] || { log "not started"; return 1; }
    local port
    port=$(sed -n 's/^DOVECOT_PORT=//p' "$DIR/dovecot.env")
    running && answers "$port" && { log "running on 127.0.0.1:$port"; return 0; }
    log "not running"
    return 1
}

case "$cmd" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
