# shellcheck shell=bash
# Sourced by scripts/compose-e2e.sh and scripts/k8s-e2e.sh: a submitter's
# side of adpipe's HTTP API, with curl. The caller defines fail and sets api
# (the API's base URL). Then:
#   json EXPR          evaluates EXPR on the JSON on stdin (as d)
#   submit PHOTO TEXT EMAIL
#                      POST /ads; prints the ad's id (fails unless 202)
#   decided ID         polls GET /ads/ID every half second, up to 2 minutes;
#                      prints its status once a decision is final

: "${api:?the caller sets api to the base URL of the API}"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {'d': d}))" "$1"; }

submit() { # photo text email -> id
  local answer
  answer=$(curl -sS -w '\n%{http_code}' -F "text=$2" -F "email=$3" -F "image=@$1" "$api/ads")
  [ "$(tail -n 1 <<<"$answer")" = 202 ] || fail "POST /ads $1: $answer"
  head -n 1 <<<"$answer" | json "d['id']"
}

decided() { # id -> status once decided
  for _ in $(seq 1 240); do
    local status
    status=$(curl -fsS "$api/ads/$1" | json "d['status']")
    case "$status" in pending | in_review) sleep 0.5 ;; *) echo "$status"; return ;; esac
  done
  fail "ad $1 still pending after 2 minutes"
}
