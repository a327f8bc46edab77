#!/usr/bin/env bash
# Produces the Postfix DSN fixtures with a real Postfix (Debian's package), in a private instance of its own under DIR
# (default /tmp/dsn-postfix) on 127.0.0.1:PORT (default 10125) and PORT+1; it never touches another instance.
#
#   bash postfix-dsns.sh start      # writes the config and starts the instance
#   python3 send.py ...             # (see README) sends the test messages into 127.0.0.1:PORT
#   bash postfix-dsns.sh stop
#
# PORT   smtpd taking mail from 127.0.0.1 for mailapi.test (local Maildir) and hard/full/policy/later.test, which it
#        relays over SMTP (smtp(8), a real client) to PORT+1.
# PORT+1 a second smtpd that answers RCPT per domain: hard.test 550 5.1.1, full.test 552 5.2.2, policy.test 550 5.7.1,
#        later.test 450 4.2.1 (an access table). So Postfix queues the message, is refused afterwards, and its
#        bounce(8) writes a real DSN to the envelope sender bounces+TOKEN@mailapi.test, delivered by virtual(8) to the
#        Maildir DIR/mail/mailapi.test/bounces/ (recipient_delimiter = +). later.test gives a "delayed" DSN after
#        delay_warning_time, then a "failed" one after maximal_queue_lifetime.
set -euo pipefail
cmd=${1:?start|stop}
DIR=${DIR:-/tmp/dsn-postfix}; PORT=${PORT:-10125}; SINK=$((PORT + 1))
ETC=$DIR/etc
pf() { /usr/sbin/postfix -c "$ETC" "$@"; }
# Postfix's local services, as the project's test relay lists them (tests/relays/postfix.sh).
eval "$(sed -n '/^master_cf_common()/,/^}/p' "$(dirname "$0")/../../../../relays/postfix.sh")"
case "$cmd" in
start)
    [ -x /usr/sbin/postfix ] || { echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null; }
    mkdir -p "$ETC" "$DIR/queue" "$DIR/data" "$DIR/log" "$DIR/mail"
    chown postfix:postfix "$DIR/data"; chown nobody:nogroup "$DIR/mail"
    cat > "$ETC/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $DIR/queue
data_directory = $DIR/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-dsn-fixtures
maillog_file = $DIR/log/postfix.log
maillog_file_prefixes = $DIR/log
inet_interfaces = loopback-only
inet_protocols = ipv4
smtpd_peername_lookup = no
alias_maps =
alias_database =
myhostname = relay.mailapi.test
mydomain = mailapi.test
myorigin = \$mydomain
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
smtpd_relay_restrictions = permit_mynetworks, reject
relay_domains = hard.test, full.test, policy.test, later.test
transport_maps = texthash:$ETC/transport
default_transport = error:5.4.4 no other destination in this test instance
smtp_host_lookup = native
smtp_dns_support_level = disabled
virtual_mailbox_domains = mailapi.test
virtual_mailbox_base = $DIR/mail
virtual_mailbox_maps = texthash:$ETC/mailboxes
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
recipient_delimiter = +
# A deferred message: a queue run every second, a "delayed" DSN after 5 s, given up (a "failed" DSN) after 40 s.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 5s
maximal_queue_lifetime = 40s
bounce_queue_lifetime = 40s
EOF
    cat > "$ETC/transport" <<EOF
hard.test	smtp:[127.0.0.1]:$SINK
full.test	smtp:[127.0.0.1]:$SINK
policy.test	smtp:[127.0.0.1]:$SINK
later.test	smtp:[127.0.0.1]:$SINK
EOF
    echo "bounces@mailapi.test	mailapi.test/bounces/" > "$ETC/mailboxes"
    cat > "$ETC/refuse" <<'EOF'
hard.test	550 5.1.1 User unknown in virtual mailbox table
full.test	552 5.2.2 Mailbox full
policy.test	550 5.7.1 Message refused by local policy
later.test	450 4.2.1 Mailbox temporarily unavailable
EOF
    cat > "$ETC/master.cf" <<EOF
127.0.0.1:$PORT inet n - n - - smtpd
127.0.0.1:$SINK inet n - n - - smtpd -o syslog_name=postfix-dsn-fixtures/refuser -o myhostname=mx.refuser.test -o smtpd_relay_restrictions= -o smtpd_recipient_restrictions=check_recipient_access,texthash:$ETC/refuse,reject
smtp      unix  - - n -    - smtp
virtual   unix  - n n -    - virtual
EOF
    master_cf_common >> "$ETC/master.cf"
    touch "$DIR/log/postfix.log"
    pf check
    pf start
    ;;
stop) pf stop ;;
*) exit 2 ;;
esac
