#!/usr/bin/env bash
# The MailApi benchmark in one command (see bench/README.md):
#   bash bench/run.sh              the full run: 10,000 messages, 16 workers, wrk at 16 and 64 connections, Postfix
#   bash bench/run.sh              ... and PostgreSQL mode beside it, with Hangfire.PostgreSql's own ceiling
#   bash bench/run.sh --smoke      a few seconds, to prove it still runs (CI); no PostgreSQL unless --postgres is added
#   bash bench/run.sh --suppressions   only what a key's suppression list costs a send, both modes (bench/MailApi.Bench/Suppressions.cs)
#   bash bench/run.sh --bounces        only bounces: the send rate with bounces on against off, then reports/s from a Dovecot mailbox of 10,000 DSNs, both modes
#                                      (bench/MailApi.Bench/Bounces.cs; tests/relays/dovecot.sh installs dovecot-imapd when missing)
# Installs postfix (smtp-sink, smtp-source, the MTA), wrk and (unless --no-postgres, or --smoke without --postgres)
# postgresql from apt when missing, builds in Release (the service, the bench, its startup-hook probe and the Hangfire
# ceiling program), and runs bench/MailApi.Bench, which starts everything it needs on 127.0.0.1 and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

postgres=yes smoke=no suppressions=no bounces=no
for a in "$@"; do
    case "$a" in
    --no-postgres|--only-delivery) postgres=no ;;
    --smoke) smoke=yes ;;
    --suppressions) suppressions=yes ;;
    --bounces) bounces=yes ;;
    esac
done
if [ $smoke = yes ] && ! printf '%s\n' "$@" | grep -qx -- --postgres; then postgres=no; fi

missing=()
[ -x /usr/sbin/smtp-sink ] || missing+=(postfix)
command -v wrk >/dev/null || missing+=(wrk)
if [ $postgres = yes ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then missing+=(postgresql); fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing ${missing[*]} (apt)" >&2
    echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
    echo "postfix postfix/mailname string bench.localhost" | debconf-set-selections
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

dotnet build -c Release src/MailApi/MailApi.csproj -nologo -v q >/dev/null
dotnet build -c Release bench/MailApi.Bench/MailApi.Bench.csproj -nologo -v q >/dev/null
dotnet build -c Release bench/MailApi.BenchProbe/MailApi.BenchProbe.csproj -nologo -v q >/dev/null
if [ $suppressions = yes ]; then
    dotnet build -c Release bench/MailApi.SuppressionLookup/MailApi.SuppressionLookup.csproj -nologo -v q >/dev/null
elif [ $postgres = yes ] && [ $bounces = no ]; then
    dotnet build -c Release bench/MailApi.HangfireCeiling/MailApi.HangfireCeiling.csproj -nologo -v q >/dev/null
fi
# The bench starts its Postfix with tests/relays/postfix.sh start PORT DIR: this picks that script's bench profile
# (one smtpd, no TLS or AUTH, discard transport).
export MAILAPI_POSTFIX_PROFILE=bench
exec dotnet bench/MailApi.Bench/bin/Release/net10.0/MailApi.Bench.dll "$@"
