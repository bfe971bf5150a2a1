#!/usr/bin/env bash
# Starts the development services adpipe's tests talk to, installing what
# is missing: an SMTP catcher with an HTTP API (mailtutan: SMTP
# 127.0.0.1:1025, HTTP 127.0.0.1:1080) and an S3 server (s3s-fs on
# 127.0.0.1:9000, access key adpipe / secret key adpipe-secret, data in
# .dev/s3, bucket "adpipe"). PostgreSQL and RabbitMQ are expected on the
# machine already (started here if installed but down).
# Idempotent: what already runs is left alone. Logs in .dev/.
#   --install-only   install mailtutan and s3s-fs, start nothing
#                    (scripts/compose-e2e.sh puts them in its stand-in images)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
mkdir -p .dev
say() { printf 'dev-services: %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # port name
  for _ in $(seq 1 100); do
    listening "$1" && return 0
    sleep 0.1
  done
  say "$2 did not start on port $1; see .dev/$2.log"
  return 1
}

install_catcher() {
  if ! command -v mailtutan >/dev/null 2>&1; then
    say "installing the SMTP catcher (cargo install mailtutan --locked)"
    cargo install mailtutan --locked --quiet
  fi
}

install_s3_server() {
  if ! command -v s3s-fs >/dev/null 2>&1; then
    say "installing the S3 server (cargo install s3s-fs@0.14.1 --features binary)"
    cargo install s3s-fs@0.14.1 --features binary --locked --quiet
  fi
}

if [ "${1:-}" = --install-only ]; then
  install_catcher
  install_s3_server
  exit 0
fi

if ! listening 1025; then
  install_catcher
  say "starting mailtutan (SMTP 1025, HTTP 1080)"
  # It keeps only the last 1000 messages by default: a test counting its
  # emails after thousands (the 20-minute chaos run) would miss the early ones.
  nohup mailtutan --ip 127.0.0.1 --smtp-port 1025 --http-port 1080 --messages-limit 1000000 \
    >.dev/mailtutan.log 2>&1 &
  wait_for 1025 mailtutan
  wait_for 1080 mailtutan
fi

if ! listening 9000; then
  install_s3_server
  # s3s-fs keeps each bucket as a folder under its root.
  mkdir -p .dev/s3/adpipe
  say "starting s3s-fs (S3 on 9000, bucket adpipe)"
  nohup s3s-fs --host 127.0.0.1 --port 9000 --access-key adpipe --secret-key adpipe-secret \
    .dev/s3 >.dev/s3s-fs.log 2>&1 &
  wait_for 9000 s3s-fs
fi

if ! listening 5672 && command -v rabbitmq-server >/dev/null 2>&1; then
  say "starting RabbitMQ"
  rabbitmq-server -detached
  for _ in $(seq 1 300); do listening 5672 && break; sleep 0.2; done
fi
listening 5672 || say "RabbitMQ is not listening on 127.0.0.1:5672; its tests will fail"

if ! listening 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  wait_for 5432 postgresql
fi
listening 5432 || say "PostgreSQL is not listening on 127.0.0.1:5432; its tests will fail"
