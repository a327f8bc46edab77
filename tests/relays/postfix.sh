#!/usr/bin/env bash
# A real Postfix on 127.0.0.1 only, in its own instance under a folder of its own: the tests' relay or the bench's sink.
#
#   bash tests/relays/postfix.sh start [--profile relay|bench] [PORT [DIR]]   # installs what is missing (apt-get),
#                                                                             # starts or reconfigures; idempotent
#   bash tests/relays/postfix.sh stop [DIR]     # stops it; nothing of it keeps running (a bench instance's DIR goes too)
#   bash tests/relays/postfix.sh status [DIR]   # exit 0 when it answers on its port
#
# DIR defaults to $MAILAPI_POSTFIX_DIR, else /tmp/mailapi-postfix; PORT to $MAILAPI_POSTFIX_PORT, else 10025; the
# profile to $MAILAPI_POSTFIX_PROFILE, else relay. Every profile: its own config, queue and log under DIR
# (log: DIR/log/postfix.log, maillog_file via postlogd, no syslog), no relayhost: nothing can leave the machine. The
# callers read DIR/relay.env.
#
# Profile "relay" (the tests', .ci/run): PORT+1 is a second listener that offers AUTH LOGIN only, as in the tutorial.
#   - myhostname profbox.domain.local, banner "profbox.domain.local ESMTP Postfix"
#   - STARTTLS with the snakeoil certificate; AUTH PLAIN LOGIN (Cyrus sasldb), offered only after STARTTLS
#   - mydestination domain.local; relaying to other domains only for authenticated clients
#     (reject_unauth_destination: "554 5.7.1 <x>: Relay access denied")
#   - gone@domain.local is unknown (550 5.1.1, Postfix's own local recipient check);
#     busy@domain.local is always deferred (450 4.2.0, an access table)
#   - every accepted message, local or relayed, goes to the "maildir" transport (virtual(8)): one file per recipient
#     (with its Delivered-To: header) in the Maildir DIR/mail/domain.local/ or, for any other domain, DIR/mail/relayed/,
#     except the test domains below.
#   - SASL user student@profbox.domain.local, password "hessovs!" (the tutorial's)
#   - bounces after the 250: the test domains are accepted in the dialogue, then relayed by transport_maps over SMTP to
#     PORT+2, a third listener of this Postfix posing as the recipients' server (mx.remote.test), which refuses them
#     at RCPT, so that Postfix writes real DSNs (Diagnostic-Code smtp; …, Remote-MTA) to the envelope sender:
#       hard.test    550 5.1.1 (user unknown)        full.test    552 5.2.2 (mailbox full)
#       policy.test  550 5.7.1 (refused by policy)   later.test   450 4.2.1 (try later: a "delayed" DSN after
#                                                                  delay_warning_time, then a "failed" one at
#                                                                  maximal_queue_lifetime; both tens of seconds)
#     The smtp client this needs is reached only through those transport_maps entries, all [127.0.0.1]:PORT+2, and
#     binds to 127.0.0.1; relay_transport and default_transport stay "maildir", there is no relayhost.
#   - recipient_delimiter = +: bounces@domain.local and bounces+ANYTHING@domain.local (a VERP return path) go to the
#     Maildir DIR/mail/bounces/ (cur, new, tmp made at start), owned like every Maildir here by uid/gid 65534
#     (virtual_uid_maps static), so an IMAP server run as that uid can serve it.
# Profile "bench" (the benchmark's): one smtpd, no TLS, no AUTH, relaying for 127.0.0.0/8, and every message
#   discarded after it was queued (discard transport): a real MTA with its queue on disk that keeps nothing.
set -euo pipefail

log() { echo "postfix.sh: $*" >&2; }
usage() { echo "usage: $0 start [--profile relay|bench] [PORT [DIR]] | stop [DIR] | status [DIR]" >&2; exit 2; }

cmd=${1:-}; [ $# -gt 0 ] && shift
PROFILE=${MAILAPI_POSTFIX_PROFILE:-relay}
if [ "${1:-}" = --profile ]; then PROFILE=${2:?--profile relay|bench}; shift 2; fi
case "$PROFILE" in relay|bench) ;; *) log "unknown profile $PROFILE"; usage ;; esac
if [ "$cmd" = start ]; then
    PORT=${1:-${MAILAPI_POSTFIX_PORT:-10025}}; DIR=${2:-${MAILAPI_POSTFIX_DIR:-/tmp/mailapi-postfix}}
else
    DIR=${1:-${MAILAPI_POSTFIX_DIR:-/tmp/mailapi-postfix}}
fi
ETC=$DIR/etc
HOSTNAME_=profbox.domain.local
SASL_USER=student
SASL_PASSWORD='hessovs!'
SCRIPT_ID=$(sha256sum "$0" | cut -c1-16)

need_root() {
    [ "$(id -u)" = 0 ] || { log "must run as root (it installs packages and runs Postfix)"; exit 1; }
}

install_packages() {
    local missing=()
    [ -x /usr/sbin/postfix ] || missing+=(postfix)
    if [ "$PROFILE" = relay ]; then
        [ -x /usr/sbin/saslpasswd2 ] || missing+=(sasl2-bin)
        [ -e /usr/lib/x86_64-linux-gnu/sasl2/libplain.so ] || [ -n "$(find /usr/lib -name 'libplain.so*' -path '*sasl2*' 2>/dev/null | head -1)" ] || missing+=(libsasl2-modules)
        [ -e /etc/ssl/certs/ssl-cert-snakeoil.pem ] || missing+=(ssl-cert)
    fi
    [ ${#missing[@]} = 0 ] && return 0
    log "installing ${missing[*]}"
    echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
    echo "postfix postfix/mailname string $HOSTNAME_" | debconf-set-selections
    # The package's own instance is not started here (no init in containers); this script never starts it.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    [ "$PROFILE" != relay ] || [ -e /etc/ssl/certs/ssl-cert-snakeoil.pem ] || make-ssl-cert generate-default-snakeoil
}

pf() { /usr/sbin/postfix -c "$ETC" "$@"; }

# Postfix prints its fatal errors only to a terminal (else to syslog, absent here): give it one to say why.
pf_loud() { pf "$@" >/dev/null 2>&1 || { script -qec "/usr/sbin/postfix -c $ETC $*" /dev/null >&2; return 1; }; }

running() { [ -f "$ETC/main.cf" ] && pf status >/dev/null 2>&1; }

answers() { # port
    timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c 3 <&3" 2>/dev/null | grep -q 220
}

# What both profiles share: the instance's own folders, and master.cf's local services (no smtp/lmtp client: the relay
# profile adds its one smtp client itself).
main_cf_common() { # syslog name
    cat <<EOF
# MailApi $PROFILE Postfix: see tests/relays/postfix.sh. Generated; do not edit.
compatibility_level = 3.6
queue_directory = $DIR/queue
data_directory = $DIR/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = $1
maillog_file_prefixes = $DIR/log
maillog_file = $DIR/log/postfix.log
inet_interfaces = loopback-only
inet_protocols = ipv4
smtpd_peername_lookup = no
alias_maps =
alias_database =
relayhost =
smtpd_banner = \$myhostname ESMTP Postfix
EOF
}

master_cf_common() {
    cat <<EOF
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
}

configure_relay() {
    local login_port=$((PORT + 1)) remote_port=$((PORT + 2))
    rm -rf "$DIR/mail"
    mkdir -p "$ETC/sasl" "$DIR/mail/bounces/cur" "$DIR/mail/bounces/new" "$DIR/mail/bounces/tmp"
    # One owner for every Maildir (virtual_uid_maps below), so an IMAP server run as that uid reads the bounces'.
    chown -R 65534:65534 "$DIR/mail"

    { main_cf_common postfix-mailapi; cat <<EOF
myhostname = $HOSTNAME_
mydomain = domain.local
myorigin = \$mydomain
mydestination = domain.local, \$myhostname, localhost
mynetworks =
biff = no
append_dot_mydomain = no
disable_vrfy_command = yes
message_size_limit = 20480000

# Every accepted message ends in a Maildir: local, relayed and any other domain alike.
local_transport = maildir
relay_transport = maildir
default_transport = maildir
virtual_transport = maildir
virtual_mailbox_domains =
virtual_alias_domains =
virtual_alias_maps =
virtual_mailbox_base = $DIR/mail
virtual_mailbox_maps = regexp:$ETC/mailboxes
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
local_recipient_maps = regexp:$ETC/local_recipients
# bounces+TOKEN@domain.local is bounces@domain.local's (a VERP return path).
recipient_delimiter = +

# The test domains are refused only after the 250: relayed over SMTP to the listener on $remote_port (see the
# header), whose refusals make this Postfix write real DSNs. Only these entries reach the smtp client.
transport_maps = texthash:$ETC/transport
smtp_tls_security_level = none
# What the recipients' server on $remote_port accepts: nothing; each test domain gets its own refusal.
mailapi_remote_restrictions = check_recipient_access texthash:$ETC/remote_access, reject
# Queue runs of seconds, so that "delayed" and given-up DSNs come within a test's patience, not hours later. (A retry
# that comes before the delivery agent let go of the message's file moves it aside for 60 s: 3 s leaves it time.)
queue_run_delay = 1s
minimal_backoff_time = 3s
maximal_backoff_time = 4s
delay_warning_time = 5s
maximal_queue_lifetime = 30s
# qmgr would cut a longer one to maximal_queue_lifetime anyway (with a warning at each start).
bounce_queue_lifetime = \$maximal_queue_lifetime
bounce_template_file = $ETC/bounce_templates

# STARTTLS with the snakeoil certificate; AUTH only after it.
smtpd_tls_security_level = may
smtpd_tls_cert_file = /etc/ssl/certs/ssl-cert-snakeoil.pem
smtpd_tls_key_file = /etc/ssl/private/ssl-cert-snakeoil.key
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1

smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $ETC/sasl
smtpd_sasl_local_domain = \$myhostname
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous

smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:$ETC/recipient_access
EOF
    } > "$ETC/main.cf"

    { cat <<EOF
# MailApi relay Postfix: see tests/relays/postfix.sh. Generated; do not edit.
127.0.0.1:$PORT       inet  n - n - - smtpd
127.0.0.1:$login_port inet  n - n - - smtpd -o smtpd_sasl_mechanism_filter=login
127.0.0.1:$remote_port inet n - n - - smtpd -o myhostname=mx.remote.test -o smtpd_sasl_auth_enable=no
  -o smtpd_tls_security_level=none -o smtpd_relay_restrictions=\$mailapi_remote_restrictions -o smtpd_recipient_restrictions=
tlsmgr    unix  - - n 1000? 1 tlsmgr
proxywrite unix - - n -    1 proxymap
maildir   unix  - n n -    - virtual
smtp      unix  - - n -    - smtp -o smtp_bind_address=127.0.0.1
EOF
    master_cf_common; } > "$ETC/master.cf"

    # Three Maildirs (a trailing slash makes one): the bounce address's (with or without +extension, matched here by
    # its full form), the local domain's and every other domain's. virtual(8) allows no
    # regexp substitution here, so copies are told apart by the Delivered-To: header virtual(8) adds to each.
    cat > "$ETC/mailboxes" <<'EOF'
/^bounces(\+[^@]*)?@domain\.local$/	bounces/
/@domain\.local$/	domain.local/
/@/	relayed/
EOF
    # Every local part of a local domain exists, except gone@ (Postfix then answers 550 5.1.1 itself).
    cat > "$ETC/local_recipients" <<'EOF'
if !/^gone@/
/^[^@]+@/	OK
endif
EOF
    cat > "$ETC/recipient_access" <<'EOF'
busy@domain.local	450 4.2.0 Mailbox busy, try again later
EOF
    local domain
    for domain in hard.test full.test policy.test later.test; do
        printf '%s\tsmtp:[127.0.0.1]:%s\n' "$domain" "$remote_port"
    done > "$ETC/transport"
    cat > "$ETC/remote_access" <<'EOF'
hard.test	550 5.1.1 User unknown
full.test	552 5.2.2 Mailbox full
policy.test	550 5.7.1 Message refused by policy
later.test	450 4.2.1 Mailbox temporarily unavailable, try again later
EOF

    # Postfix's own delay notice, in seconds: its built-in one counts in hours and days, which are 0 here.
    postconf -t | sed -n '/^delay_template/,/^EOF/p' \
        | sed -e 's/\$delay_warning_time_hours hour(s)/$delay_warning_time_seconds second(s)/' \
              -e 's/\$maximal_queue_lifetime_days day(s)/$maximal_queue_lifetime_seconds second(s)/' > "$ETC/bounce_templates"

    cat > "$ETC/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $DIR/sasldb2
EOF
    rm -f "$DIR/sasldb2"
    echo -n "$SASL_PASSWORD" | saslpasswd2 -p -c -f "$DIR/sasldb2" -u "$HOSTNAME_" "$SASL_USER"
    chown root:postfix "$DIR/sasldb2"
    chmod 640 "$DIR/sasldb2"

    cat > "$DIR/relay.env" <<EOF
POSTFIX_PROFILE=relay
POSTFIX_PORT=$PORT
POSTFIX_LOGIN_PORT=$login_port
POSTFIX_MAILDIR=$DIR/mail/domain.local
POSTFIX_RELAYED_MAILDIR=$DIR/mail/relayed
POSTFIX_REMOTE_PORT=$remote_port
POSTFIX_BOUNCE_MAILDIR=$DIR/mail/bounces
POSTFIX_BOUNCE_ADDRESS=bounces@domain.local
POSTFIX_LOG=$DIR/log/postfix.log
POSTFIX_HOSTNAME=$HOSTNAME_
POSTFIX_USER=$SASL_USER
POSTFIX_PASSWORD=$SASL_PASSWORD
EOF
}

configure_bench() {
    { main_cf_common postfix-mailapi-bench; cat <<EOF
myhostname = bench.localhost
mydomain = localhost
myorigin = bench.localhost
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = discard
relay_transport = discard
local_transport = discard
virtual_transport = discard
EOF
    } > "$ETC/main.cf"
    { echo "# MailApi bench Postfix: see tests/relays/postfix.sh. Generated; do not edit."
      echo "127.0.0.1:$PORT inet n - n - - smtpd"
      master_cf_common; } > "$ETC/master.cf"
    cat > "$DIR/relay.env" <<EOF
POSTFIX_PROFILE=bench
POSTFIX_PORT=$PORT
POSTFIX_LOG=$DIR/log/postfix.log
EOF
}

start() {
    need_root
    install_packages
    # (An instance from before profiles has no POSTFIX_PROFILE line: it is a relay.) One configured by another version
    # of this script is configured again: its POSTFIX_SCRIPT line names the script's contents it was made from.
    local was
    was=$(sed -n 's/^POSTFIX_PROFILE=//p' "$DIR/relay.env" 2>/dev/null || true)
    if running && [ "${was:-relay}" = "$PROFILE" ] && grep -qx "POSTFIX_PORT=$PORT" "$DIR/relay.env" \
        && grep -qx "POSTFIX_SCRIPT=$SCRIPT_ID" "$DIR/relay.env" && answers "$PORT"; then
        log "already running on 127.0.0.1:$PORT ($PROFILE)"
        return 0
    fi
    running && pf stop >/dev/null 2>&1 || true
    mkdir -p "$ETC" "$DIR/queue" "$DIR/data" "$DIR/log"
    chown postfix:postfix "$DIR/data"
    touch "$DIR/log/postfix.log"
    "configure_$PROFILE"
    echo "POSTFIX_SCRIPT=$SCRIPT_ID" >> "$DIR/relay.env"
    pf_loud check || { log "postfix check failed"; exit 1; }
    pf_loud start || { tail -20 "$DIR/log/postfix.log" >&2; log "postfix start failed"; exit 1; }
    for _ in $(seq 1 50); do
        if answers "$PORT" && { [ "$PROFILE" != relay ] || { answers $((PORT + 1)) && answers $((PORT + 2)); }; }; then
            log "running on 127.0.0.1:$PORT ($PROFILE$([ "$PROFILE" = relay ] && echo "; AUTH LOGIN only on $((PORT + 1)); the test domains' server on $((PORT + 2))")); config $ETC, log $DIR/log/postfix.log"
            return 0
        fi
        sleep 0.2
    done
    tail -20 "$DIR/log/postfix.log" >&2
    log "postfix does not answer on 127.0.0.1:$PORT"
    exit 1
}

stop() {
    need_root
    local profile
    profile=$(sed -n 's/^POSTFIX_PROFILE=//p' "$DIR/relay.env" 2>/dev/null || true)
    if [ -f "$ETC/main.cf" ]; then
        pf stop >/dev/null 2>&1 || true
        # master waits for its children; make sure none is left behind.
        local pid
        pid=$(cat "$DIR/queue/pid/master.pid" 2>/dev/null | tr -d ' ' || true)
        for _ in $(seq 1 50); do
            [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            pf abort >/dev/null 2>&1 || kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$DIR/relay.env"
    # A bench instance is throw-away; the relay's folder keeps its Maildirs and log for a look after the tests.
    [ "$profile" != bench ] || rm -rf "$DIR"
    log "stopped"
}

status() {
    [ -f "$DIR/relay.env" ] || { log "not started"; return 1; }
    local port
    port=$(sed -n 's/^POSTFIX_PORT=//p' "$DIR/relay.env")
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
