#!/usr/bin/env bash
# Load test (not part of `make test`): 50 signed-in operators for 60 s against
# gunicorn on the bc_load PostgreSQL database (bench/prepare.sh fills it with
# 1M tasks per kind), with a Celery worker on Redis.  Loopback only; every
# process this script starts is stopped when it ends.
#   bash bench/prepare.sh && bash bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${LOAD_USERS:-50}" DURATION="${LOAD_TIME:-60s}" PORT="${LOAD_PORT:-8055}"
WORKERS="${LOAD_WEB_WORKERS:-4}" THREADS="${LOAD_WEB_THREADS:-4}"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/${LOAD_DB:-bc_load}"
export CELERY_BROKER_URL="${LOAD_BROKER:-redis://127.0.0.1:6379/13}"
export DEBUG=0 SIM_SPEED=60 CONN_MAX_AGE=600 LOG_LEVEL=WARNING
# DEBUG=0 refuses to start without a key: a throwaway one, shared by gunicorn and the worker.
export SECRET_KEY="${SECRET_KEY:-bench-only-$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')}"
OUT="${LOAD_OUT:-var/load}"
mkdir -p "$OUT"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

.venv/bin/gunicorn backup_console.wsgi -k gthread -w "$WORKERS" --threads "$THREADS" -b "127.0.0.1:${PORT}" \
  --timeout 60 --keep-alive 10 --log-level warning >"$OUT/gunicorn.log" 2>&1 &
pids+=($!)
.venv/bin/celery -A backup_console worker -c 2 --pool threads --loglevel WARNING >"$OUT/worker.log" 2>&1 &
pids+=($!)
for _ in $(seq 60); do curl -sf -o /dev/null "http://127.0.0.1:${PORT}/accounts/login/" && break; sleep 0.5; done

.venv/bin/locust -f bench/locustfile.py --headless -u "$USERS" -r "$USERS" -t "$DURATION" --stop-timeout 10 \
  -H "http://127.0.0.1:${PORT}" --csv "$OUT/locust" --only-summary 2>&1 | tee "$OUT/summary.txt"
python3 - "$OUT/locust_stats.csv" "$OUT/locust_failures.csv" <<'PY'
import csv, re, sys
rows = list(csv.DictReader(open(sys.argv[1])))
failures = list(csv.DictReader(open(sys.argv[2])))
five = sum(int(f["Occurrences"]) for f in failures if re.search(r"\b5\d\d\b", f["Error"]))
print(f"5xx: {five}")
for f in failures:
    print(f"  failure: {f['Method']} {f['Name']}: {f['Error']} x{f['Occurrences']}")
total = next(r for r in rows if r["Name"] == "Aggregated")
print(f"requests: {total['Request Count']}  failures: {total['Failure Count']}  req/s: {float(total['Requests/s']):.1f}  "
      f"p50: {total['50%']} ms  p95: {total['95%']} ms  p99: {total['99%']} ms")
PY
