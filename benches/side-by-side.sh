#!/usr/bin/env bash
# Side by side: the same remote-write load into Norn, Prometheus and VictoriaMetrics, then the
# same queries, one server after the other on this machine, each on 127.0.0.1 with a fresh
# temporary data directory.
#
# Ingest phase: for each server it records the load tool's samples/s and latencies, the
# server's CPU seconds (utime+stime from /proc/<pid>/stat over the run) and its peak RSS
# (VmHWM), then prints one markdown table with Norn/Prometheus and Norn/VictoriaMetrics ratios.
# Query phase: for each server a fresh instance is backfilled with --query-series series over
# the --query-span before a fixed end time T (one connection, samples in time order, 7.3s past
# whole seconds so no sample sits on a range boundary), left to settle (head compaction, block
# shipping) until its CPU is idle, then `norn-bench query --time T` runs the fixed query set
# (see `norn-bench query --list`) --query-repeat times; the table shows per-query median
# latency, the ratios Norn/Prometheus and Norn/VictoriaMetrics and whether the result
# fingerprints (equal answers) match. After the queries each server writes what it holds in
# memory to disk (flush, snapshot or force_flush) and the bytes its long-term format takes per
# backfilled sample are reported. Everything is also written as JSON.
#
# Usage: benches/side-by-side.sh [--series N] [--scrapes N] [--interval D] [--concurrency N]
#                                [--batch N] [--targets "norn prometheus victoriametrics"]
#                                [--repeat N] [--settle SECONDS] [--out FILE] [--no-build] [--keep]
#                                [--query-series N] [--query-span D] [--query-interval D]
#                                [--query-repeat N] [--query-settle-max SECONDS] [--no-query]
# Every flag has an environment twin: NORN_SBS_SERIES, NORN_SBS_SCRAPES, NORN_SBS_INTERVAL,
# NORN_SBS_CONCURRENCY, NORN_SBS_BATCH, NORN_SBS_TARGETS, NORN_SBS_REPEAT, NORN_SBS_SETTLE,
# NORN_SBS_OUT, NORN_SBS_QUERY_SERIES, NORN_SBS_QUERY_SPAN, NORN_SBS_QUERY_INTERVAL,
# NORN_SBS_QUERY_REPEAT, NORN_SBS_QUERY_SETTLE_MAX, NORN_SBS_QUERY (0 = --no-query). The
# targets run in turn --repeat times (default 3, a fresh server each time; 0 skips the ingest
# phase) and the ingest table shows the median of each column; the query phase runs once per
# target.
# Durations (--interval, --query-span, --query-interval) take one unit: s, m, h or d.
# The defaults (ingest: 100k series x 20 scrapes, 3 repeats; queries: 10k series over 24h at
# 60s, 14.4M samples per server, 5 timed runs per query) take about five minutes on 2 cores
# once Norn is built. See docs/benchmarks.md, "Ingest side by side" and "Queries side by side".
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

series=${NORN_SBS_SERIES:-100000}
scrapes=${NORN_SBS_SCRAPES:-20}
interval=${NORN_SBS_INTERVAL:-15s}
concurrency=${NORN_SBS_CONCURRENCY:-4}
batch=${NORN_SBS_BATCH:-2000}
targets=${NORN_SBS_TARGETS:-norn prometheus victoriametrics}
settle=${NORN_SBS_SETTLE:-5}
repeat=${NORN_SBS_REPEAT:-3}
out=${NORN_SBS_OUT:-results/side-by-side-$(date -u +%Y-%m-%dT%H%M%SZ).json}
query_series=${NORN_SBS_QUERY_SERIES:-10000}
query_span=${NORN_SBS_QUERY_SPAN:-24h}
query_interval=${NORN_SBS_QUERY_INTERVAL:-60s}
query_repeat=${NORN_SBS_QUERY_REPEAT:-5}
query_settle_max=${NORN_SBS_QUERY_SETTLE_MAX:-300}
query_phase=${NORN_SBS_QUERY:-1}
build=1
keep=0

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while (($#)); do
  case $1 in
    --series) series=$2; shift 2 ;;
    --scrapes) scrapes=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --targets) targets=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --query-series) query_series=$2; shift 2 ;;
    --query-span) query_span=$2; shift 2 ;;
    --query-interval) query_interval=$2; shift 2 ;;
    --query-repeat) query_repeat=$2; shift 2 ;;
    --query-settle-max) query_settle_max=$2; shift 2 ;;
    --no-query) query_phase=0; shift ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for number in "$series" "$scrapes" "$concurrency" "$batch" "$settle" "$repeat" \
  "$query_series" "$query_repeat" "$query_settle_max" "$query_phase"; do
  [[ $number =~ ^[0-9]+$ ]] || { echo "not a number: $number" >&2; exit 2; }
done
# seconds D: a one-unit duration (90s, 30m, 24h, 2d) in seconds.
seconds() {
  [[ $1 =~ ^([0-9]+)([smhd])$ ]] || { echo "not a duration (one of s, m, h, d): $1" >&2; return 1; }
  local amount=${BASH_REMATCH[1]}
  case ${BASH_REMATCH[2]} in
    s) echo "$amount" ;; m) echo $((amount * 60)) ;; h) echo $((amount * 3600)) ;; d) echo $((amount * 86400)) ;;
  esac
}
query_span_s=$(seconds "$query_span") || exit 2
query_interval_s=$(seconds "$query_interval") || exit 2
((query_interval_s > 0 && query_span_s >= query_interval_s)) || { echo "--query-span must be at least --query-interval" >&2; exit 2; }
# The query phase's data ends before T, a whole minute a minute ago, fixed for every target.
query_end=$(($(date +%s) / 60 * 60 - 60))

step() { printf '\n==> %s\n' "$*" >&2; }

# --- what the run needs -------------------------------------------------------------------
missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v curl >/dev/null 2>&1 || missing+=(curl)
for target in $targets; do
  case $target in
    norn) ;;
    prometheus) command -v prometheus >/dev/null 2>&1 || missing+=(prometheus) ;;
    victoriametrics) command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics) ;;
    *) echo "unknown target $target (norn, prometheus, victoriametrics)" >&2; exit 2 ;;
  esac
done
if ((${#missing[@]})); then
  step "installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ((build)); then
  step "cargo build --release -p norn -p norn-benches --bin norn --bin norn-bench"
  cargo build --release -p norn -p norn-benches --bin norn --bin norn-bench
fi
norn_bin=$repo/target/release/norn
bench_bin=$repo/target/release/norn-bench
[[ -x $bench_bin ]] || { echo "missing $bench_bin (drop --no-build)" >&2; exit 1; }
[[ " $targets " != *" norn "* || -x $norn_bin ]] || { echo "missing $norn_bin (drop --no-build)" >&2; exit 1; }

# --- process bookkeeping: every server is stopped by PID, even when the script fails --------
work=$(mktemp -d "${TMPDIR:-/tmp}/norn-side-by-side.XXXXXX")
server_pid=
stop_server() {
  local pid=$1
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 150); do # up to 30s for a clean shutdown
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.2
  done
  echo "pid $pid ignored SIGTERM for 30s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_server "$server_pid"
  server_pid=
  if ((keep)); then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
# wait_ready URL PID: polls URL until it answers 200 (at most 60s); fails if PID died.
wait_ready() {
  local url=$1 pid=$2
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 1
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$url" || true) == 200 ]] && return 0
    sleep 0.2
  done
  return 1
}
clock_ticks=$(getconf CLK_TCK)
# cpu_seconds PID: user+system CPU seconds of PID (fields 14 and 15 of /proc/PID/stat).
cpu_seconds() {
  sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$clock_ticks" '{ printf "%.2f", ($12 + $13) / hz }'
}
# status_kib PID FIELD: a kB field of /proc/PID/status (VmHWM, VmRSS).
status_kib() { awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"; }
# metric_sum FILE NAME: sum of every sample of metric NAME in a /metrics dump.
metric_sum() {
  awk -v name="$2" '$1 == name || index($1, name "{") == 1 { sum += $NF } END { printf "%.0f", sum }' "$1"
}

# --- starting a server ------------------------------------------------------------------------
# start_server TARGET DIR [ARG...]: starts TARGET on a free port with its data in DIR (and the
# extra command-line arguments ARG) and waits until it is ready. Sets server_pid, push_url, api_url (Prometheus API base), metrics_url, version and
# stored_metric. Norn runs with multitenancy off (tenant `anonymous`) and limits lifted, and
# with -querier.query-ingesters-within=0 (ask the ingesters for any time range): with its 13h
# default, and no store-gateway read path yet, answers would stop 13h back although the
# ingester holds the whole backfilled day. Backfilled data needs nothing else: samples are
# only refused when more than
# -validation.create-grace-period (10m) in the future, -validation.past-grace-period is 0
# (no limit, as in Mimir), and the ingester head takes samples in time order up to half a
# block range (1h) behind its newest sample, which a single-connection backfill never is.
start_server() {
  local target=$1 dir=$2 port ready
  local extra=("${@:3}")
  mkdir -p "$dir"
  port=$(free_port)
  case $target in
    norn)
      "$norn_bin" -target=all -auth.multitenancy-enabled=false \
        -server.http-listen-address=127.0.0.1 -server.http-listen-port="$port" \
        -blocks-storage.tsdb.dir="$dir/tsdb" -blocks-storage.filesystem.dir="$dir/bucket" \
        -blocks-storage.bucket-store.sync-dir="$dir/tsdb-sync" -compactor.data-dir="$dir/compactor" \
        -distributor.ingestion-rate-limit=1000000000 -distributor.ingestion-burst-size=1000000000 \
        -ingester.max-global-series-per-user=0 -querier.query-ingesters-within=0 \
        "${extra[@]}" >"$dir/server.log" 2>&1 &
      server_pid=$!
      push_url=http://127.0.0.1:$port/api/v1/push
      api_url=http://127.0.0.1:$port/prometheus
      ready=http://127.0.0.1:$port/ready
      metrics_url=http://127.0.0.1:$port/metrics
      version=$("$norn_bin" -version 2>/dev/null || true)
      stored_metric=cortex_ingester_ingested_samples_total
      ;;
    prometheus)
      printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$dir/prometheus.yml"
      prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver \
        "${extra[@]}" >"$dir/server.log" 2>&1 &
      server_pid=$!
      push_url=http://127.0.0.1:$port/api/v1/write
      api_url=http://127.0.0.1:$port
      ready=http://127.0.0.1:$port/-/ready
      metrics_url=http://127.0.0.1:$port/metrics
      version=$(prometheus --version 2>&1 || true)
      stored_metric=prometheus_tsdb_head_samples_appended_total
      ;;
    victoriametrics)
      # -search.disableCache: VictoriaMetrics caches rollup results across requests, which
      # would turn the repeated timed queries into cache reads; Prometheus has no such cache
      # and Norn's results cache (query-frontend) is off by default.
      victoria-metrics -storageDataPath="$dir/data" -httpListenAddr="127.0.0.1:$port" \
        -search.disableCache "${extra[@]}" >"$dir/server.log" 2>&1 &
      server_pid=$!
      push_url=http://127.0.0.1:$port/api/v1/write
      api_url=http://127.0.0.1:$port
      ready=http://127.0.0.1:$port/health
      metrics_url=http://127.0.0.1:$port/metrics
      version="victoria-metrics $(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null || echo unknown)"
      stored_metric=vm_rows_added_to_storage_total
      ;;
  esac
  version=${version%%$'\n'*} # first line; no `| head -n 1`, which can break the writer's pipe
  step "$target ($version) on port $port, pid $server_pid"
  if ! wait_ready "$ready" "$server_pid"; then
    echo "$target did not become ready; its log:" >&2
    tail -n 30 "$dir/server.log" >&2
    return 1
  fi
}

# --- one target ------------------------------------------------------------------------------
# run_target TARGET RUN: one fresh server, one load, one result.json under $work/TARGET-RUN.
run_target() {
  local target=$1 dir=$work/$1-$2
  start_server "$target" "$dir" || return 1
  sleep 1 # let start-up work (WAL/ring/cache set-up) finish before the baseline
  local rss_before cpu_before cpu_after cpu_settled hwm rss_after rss_anon rss_file load_rc=0
  rss_before=$(status_kib "$server_pid" VmRSS)
  cpu_before=$(cpu_seconds "$server_pid")
  "$bench_bin" loadgen --url "$push_url" --series "$series" --scrapes "$scrapes" \
    --interval "$interval" --concurrency "$concurrency" --batch "$batch" \
    --max-error-ratio 1 --json "$dir/load.json" >&2 || load_rc=$?
  cpu_after=$(cpu_seconds "$server_pid")
  sleep "$settle"
  cpu_settled=$(cpu_seconds "$server_pid")
  hwm=$(status_kib "$server_pid" VmHWM)
  rss_after=$(status_kib "$server_pid" VmRSS)
  rss_anon=$(status_kib "$server_pid" RssAnon)
  rss_file=$(status_kib "$server_pid" RssFile)
  curl -s "$metrics_url" >"$dir/metrics.txt" || true
  local stored
  stored=$(metric_sum "$dir/metrics.txt" "$stored_metric")
  stop_server "$server_pid"
  server_pid=
  [[ $load_rc -eq 0 && -s $dir/load.json ]] || { echo "$target: load tool failed ($load_rc)" >&2; return 1; }
  python3 - "$dir" "$target" "$version" "$cpu_before" "$cpu_after" "$cpu_settled" \
    "$rss_before" "$hwm" "$rss_after" "${rss_anon:-0}" "${rss_file:-0}" "$stored" "$stored_metric" <<'PY'
import json, sys
d, target, version, c0, c1, c2, rss0, hwm, rss1, anon, file, stored, stored_metric = sys.argv[1:]
load = json.load(open(f"{d}/load.json"))
server = {
    "target": target,
    "version": version,
    "cpu_seconds": round(float(c1) - float(c0), 2),
    "cpu_seconds_with_settle": round(float(c2) - float(c0), 2),
    "rss_before_bytes": int(rss0) * 1024,
    "peak_rss_bytes": int(hwm) * 1024,
    "rss_after_bytes": int(rss1) * 1024,
    "rss_after_anon_bytes": int(anon) * 1024,
    "rss_after_file_bytes": int(file) * 1024,
    "stored_samples": int(stored),
    "stored_samples_metric": stored_metric,
}
if target == "norn":
    # Mean of the distributor's push histogram: decoded push to ingester acknowledgement.
    total = count = 0.0
    for line in open(f"{d}/metrics.txt"):
        if line.startswith("norn_distributor_push_duration_seconds_sum"):
            total = float(line.split()[-1])
        elif line.startswith("norn_distributor_push_duration_seconds_count"):
            count = float(line.split()[-1])
    server["distributor_push_mean_ms"] = round(1000 * total / count, 2) if count else None
json.dump({"load": load, "server": server}, open(f"{d}/result.json", "w"), indent=2)
PY
}

# --- query phase ----------------------------------------------------------------------------
# wait_idle PID MIN MAX: waits at least MIN seconds and until PID used under 5% of a core over
# two 2s windows in a row (head compaction, block writing and merges done), at most MAX seconds.
# Prints the seconds waited.
wait_idle() {
  local pid=$1 min=$2 max=$3 waited=0 idle=0 before after
  while ((waited < max && (idle < 2 || waited < min))); do
    before=$(cpu_seconds "$pid")
    sleep 2
    waited=$((waited + 2))
    kill -0 "$pid" 2>/dev/null || break
    after=$(cpu_seconds "$pid")
    if awk -v a="$before" -v b="$after" 'BEGIN { exit !(b - a < 0.1) }'; then
      idle=$((idle + 1))
    else
      idle=0
    fi
  done
  echo "$waited"
}

# disk_after_flush TARGET DIR: writes everything the running server holds in memory to disk
# in its long-term format and prints the bytes that format takes:
# - Norn: `/ingester/flush?wait=true` cuts the head into blocks; the sum of the block
#   directories (Prometheus TSDB format: chunks, index, meta.json; the WAL is not counted);
# - Prometheus: a TSDB snapshot (`/api/v1/admin/tsdb/snapshot`), which writes the head as a
#   block next to the existing blocks; the snapshot's size (the WAL is not counted);
# - VictoriaMetrics: `/internal/force_flush`, then its `data` and `indexdb` directories
#   (caches and the lock file are not counted).
disk_after_flush() {
  local target=$1 dir=$2 base
  case $target in
    norn)
      base=${push_url%/api/v1/push}
      curl -s -o /dev/null -X POST "$base/ingester/flush?wait=true" || true
      find "$dir/tsdb" -name meta.json -printf '%h\0' | xargs -0 -r du -sbc | awk 'END { print $1 + 0 }'
      ;;
    prometheus)
      local name
      name=$(curl -s -X POST "$api_url/api/v1/admin/tsdb/snapshot" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["name"])' 2>/dev/null || true)
      [[ -n $name && -d $dir/data/snapshots/$name ]] && du -sb "$dir/data/snapshots/$name" | cut -f1
      ;;
    victoriametrics)
      curl -s -o /dev/null "$api_url/internal/force_flush" || true
      sleep 2
      du -sbc "$dir/data/data" "$dir/data/indexdb" 2>/dev/null | awk 'END { print $1 + 0 }'
      ;;
  esac
}

# run_query_phase TARGET: a fresh server, the backfill, the settle, the query set; writes
# query-result.json under $work/query-TARGET.
run_query_phase() {
  local target=$1 dir=$work/query-$1 backfill_rc=0 query_rc=0 waited cpu_before cpu_after hwm
  local extra=()
  # Prometheus cuts its head into 2h blocks as soon as it spans 3h, so the backfill leaves it
  # with blocks and a short head. Norn's ingester checks every
  # -blocks-storage.tsdb.head-compaction-interval (1m by default); 5s lets it do the same during
  # the backfill and the settle instead of in the middle of the timed queries.
  [[ $target == norn ]] && extra=(-blocks-storage.tsdb.head-compaction-interval=5s)
  # The admin API gives the snapshot the disk measurement below reads.
  [[ $target == prometheus ]] && extra=(--web.enable-admin-api)
  start_server "$target" "$dir" "${extra[@]}" || return 1
  local scrapes_q=$((query_span_s / query_interval_s))
  local start_ms=$(((query_end - scrapes_q * query_interval_s) * 1000 + 7300))
  step "$target: backfilling $query_series series x $scrapes_q scrapes ($query_interval) ending before $query_end"
  "$bench_bin" loadgen --url "$push_url" --series "$query_series" --scrapes "$scrapes_q" \
    --interval "$query_interval" --start-ms "$start_ms" --concurrency 1 --batch "$batch" \
    --max-error-ratio 0 --quiet --json "$dir/backfill.json" >&2 || backfill_rc=$?
  [[ $target == victoriametrics ]] && curl -s "${api_url}/internal/force_flush" >/dev/null || true
  waited=$(wait_idle "$server_pid" 12 "$query_settle_max")
  step "$target: settled after ${waited}s; running the query set"
  cpu_before=$(cpu_seconds "$server_pid")
  "$bench_bin" query --url "$api_url" --time "$query_end" --repeat "$query_repeat" --quiet \
    --json "$dir/query.json" >&2 || query_rc=$?
  cpu_after=$(cpu_seconds "$server_pid")
  hwm=$(status_kib "$server_pid" VmHWM)
  local disk
  disk=$(disk_after_flush "$target" "$dir")
  step "$target: ${disk:-?} bytes on disk after flush"
  stop_server "$server_pid"
  server_pid=
  [[ -s $dir/query.json ]] || { echo "$target: query tool failed ($query_rc)" >&2; return 1; }
  python3 - "$dir" "$target" "$version" "$backfill_rc" "$query_rc" "$waited" "$cpu_before" "$cpu_after" "$hwm" "${disk:-0}" <<'PY'
import json, os, sys
d, target, version, backfill_rc, query_rc, waited, c0, c1, hwm, disk = sys.argv[1:]
backfill = json.load(open(f"{d}/backfill.json")) if os.path.exists(f"{d}/backfill.json") else None
result = {
    "target": target,
    "version": version,
    "backfill": backfill,
    "backfill_exit_code": int(backfill_rc),
    "query_exit_code": int(query_rc),
    "settle_seconds": int(waited),
    "query_cpu_seconds": round(float(c1) - float(c0), 2),
    "peak_rss_bytes": int(hwm or 0) * 1024,
    "disk_bytes_after_flush": int(disk),
    "disk_bytes_per_sample": int(disk) / backfill["samples_sent"]
        if backfill and backfill.get("samples_sent") and int(disk) > 0 else None,
    "queries": json.load(open(f"{d}/query.json")),
}
json.dump(result, open(f"{d}/query-result.json", "w"), indent=2)
PY
}

# --- the runs --------------------------------------------------------------------------------
step "workload: $series series x $scrapes scrapes ($interval), batch $batch, $concurrency connections"
uptime >&2
load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
run_dirs=()
for run in $(seq 1 "$repeat"); do
  for target in $targets; do
    run_target "$target" "$run"
    run_dirs+=("$target-$run")
  done
done
query_dirs=()
if ((query_phase)); then
  step "query phase: $query_series series over $query_span at $query_interval, T = $query_end, $query_repeat timed runs per query"
  for target in $targets; do
    run_query_phase "$target"
    query_dirs+=("query-$target")
  done
fi
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)

mkdir -p "$(dirname "$out")"
QUERY_DIRS="${query_dirs[*]}" python3 - "$work" "$out" "$load_before" "$load_after" "${run_dirs[@]}" <<'PY'
import json, math, os, platform, statistics, sys, time
work, out, load_before, load_after, *run_dirs = sys.argv[1:]
query_dirs = os.environ.get("QUERY_DIRS", "").split()
runs = {}
for run_dir in run_dirs:
    target = run_dir.rsplit("-", 1)[0]
    runs.setdefault(target, []).append(json.load(open(os.path.join(work, run_dir, "result.json"))))
targets = list(runs)
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")

def row_of(r):
    load, server = r["load"], r["server"]
    cpu = server["cpu_seconds"]
    return {
        "samples_per_second": load["samples_per_second"],
        "p50_ms": load["latency"]["p50_ms"],
        "p99_ms": load["latency"]["p99_ms"],
        "cpu_seconds": cpu,
        "samples_per_cpu_second": load["samples_sent"] / cpu if cpu > 0 else None,
        "peak_rss_mib": server["peak_rss_bytes"] / 2**20,
        "peak_rss_per_series": server["peak_rss_bytes"] / load["series"],
        "rss_growth_per_series": (server["peak_rss_bytes"] - server["rss_before_bytes"]) / load["series"],
        "settled_rss_per_series": server["rss_after_bytes"] / load["series"],
        "failed_requests": load["requests_failed"],
        "stored_samples": server["stored_samples"],
    }

def median_row(rows):
    merged = {}
    for key in rows[0]:
        values = [row[key] for row in rows if row[key] is not None]
        merged[key] = statistics.median(values) if values else None
    return merged

rows = {t: median_row([row_of(r) for r in rs]) for t, rs in runs.items()}
names = {"norn": "Norn", "prometheus": "Prometheus", "victoriametrics": "VictoriaMetrics"}
columns = [
    ("samples/s", "samples_per_second", "{:,.0f}"),
    ("p50 ms", "p50_ms", "{:.1f}"),
    ("p99 ms", "p99_ms", "{:.1f}"),
    ("server CPU s", "cpu_seconds", "{:.2f}"),
    ("samples per CPU-s", "samples_per_cpu_second", "{:,.0f}"),
    ("peak RSS MiB", "peak_rss_mib", "{:.0f}"),
    ("peak RSS B/series", "peak_rss_per_series", "{:,.0f}"),
    ("settled RSS B/series", "settled_rss_per_series", "{:,.0f}"),
    ("failed req", "failed_requests", "{:.0f}"),
]
def cell(value, fmt):
    return "n/a" if value is None else fmt.format(value)
lines = ["| server | " + " | ".join(c[0] for c in columns) + " |",
         "| --- |" + " ---: |" * len(columns)]
for t in targets:
    lines.append(f"| {names[t]} | " + " | ".join(cell(rows[t][k], f) for _, k, f in columns) + " |")
ratios = {}
if "norn" in rows:
    for other in ("prometheus", "victoriametrics"):
        if other not in rows:
            continue
        ratio = {}
        for _, key, _ in columns:
            a, b = rows["norn"][key], rows[other][key]
            ratio[key] = a / b if a is not None and b not in (None, 0) else None
        ratios[f"norn/{other}"] = ratio
        lines.append(f"| **Norn / {names[other]}** | " + " | ".join(
            "" if key == "failed_requests" else cell(ratio[key], "{:.2f}×") for _, key, _ in columns) + " |")
table = "\n".join(lines)
first = runs[targets[0]][0]["load"] if targets else None
report = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {"cpu": cpu_model, "cores": os.cpu_count(), "kernel": platform.release(),
                "loadavg_before": load_before, "loadavg_after": load_after},
    "workload": {k: first[k] for k in ("series", "scrapes", "interval_seconds", "batch", "concurrency")}
                if first else None,
    "repeat": len(runs[targets[0]]) if targets else 0,
    "rows": rows,
    "ratios": ratios,
    "runs": runs,
    "table_markdown": table,
}

# --- queries: per-query median latency, ratios, same answers ---------------------------------
query_runs = {}
for query_dir in query_dirs:
    path = os.path.join(work, query_dir, "query-result.json")
    if os.path.exists(path):
        result = json.load(open(path))
        query_runs[result["target"]] = result
query_lines = []
query_summary = {}
if query_runs:
    order = [t for t in ("norn", "prometheus", "victoriametrics") if t in query_runs]
    by_target = {t: {q["name"]: q for q in query_runs[t]["queries"]["queries"]} for t in order}
    names_in_order = [q["name"] for q in query_runs[order[0]]["queries"]["queries"]]
    others = [t for t in ("prometheus", "victoriametrics") if t in order and "norn" in order]
    header = ["query"] + [f"{names[t]} ms" for t in order]
    header += [f"Norn / {names[t]}" for t in others] + [f"same answer as {names[t]}" for t in others]
    query_lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    ratio_logs = {t: [] for t in others}
    same_counts = {t: 0 for t in others}
    per_query = {}
    for name in names_in_order:
        row = [f"`{name}`"]
        entry = {}
        for t in order:
            q = by_target[t].get(name)
            failed = q is None or q["error"] is not None
            median = None if failed else q["latency"]["p50_ms"]
            entry[t] = {"median_ms": median, "p99_ms": None if failed else q["latency"]["p99_ms"],
                        "fingerprint": (q or {}).get("fingerprint"), "error": (q or {}).get("error")}
            row.append("failed" if failed else f"{median:.2f}")
        for t in others:
            a, b = entry["norn"]["median_ms"], entry[t]["median_ms"]
            ratio = a / b if a is not None and b else None
            entry[f"norn/{t}"] = ratio
            if ratio:
                ratio_logs[t].append(math.log(ratio))
            row.append("n/a" if ratio is None else f"{ratio:.2f}×")
        for t in others:
            fa, fb = entry["norn"]["fingerprint"], entry[t]["fingerprint"]
            same = fa is not None and fb is not None and fa["hash"] == fb["hash"]
            entry[f"same_as_{t}"] = same
            same_counts[t] += same
            row.append("yes" if same else "**no**")
        per_query[name] = entry
        query_lines.append("| " + " | ".join(row) + " |")
    for t in others:
        if ratio_logs[t]:
            query_summary[f"norn/{t}_geometric_mean"] = math.exp(sum(ratio_logs[t]) / len(ratio_logs[t]))
        query_summary[f"same_answers_as_{t}"] = f"{same_counts[t]}/{len(names_in_order)}"
    for t in order:
        per_sample = query_runs[t].get("disk_bytes_per_sample")
        query_summary[f"{t}_disk_bytes_per_sample"] = per_sample
        norn_per_sample = query_runs.get("norn", {}).get("disk_bytes_per_sample")
        if t != "norn" and per_sample and norn_per_sample:
            query_summary[f"norn/{t}_disk_bytes_per_sample"] = norn_per_sample / per_sample
    first_query = query_runs[order[0]]
    report["queries"] = {
        "workload": {"series": first_query["backfill"]["series"] if first_query["backfill"] else None,
                     "scrapes": first_query["backfill"]["scrapes"] if first_query["backfill"] else None,
                     "interval_seconds": first_query["backfill"]["interval_seconds"] if first_query["backfill"] else None,
                     "time": first_query["queries"]["time"], "repeat": first_query["queries"]["repeat"]},
        "per_query": per_query,
        "summary": query_summary,
        "runs": query_runs,
        "table_markdown": "\n".join(query_lines),
    }
with open(out, "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
w = report["workload"]
if w:
    print(f"\n{w['series']} series x {w['scrapes']} scrapes, {w['batch']} series/request, "
          f"{w['concurrency']} connections; median of {report['repeat']} run(s); "
          f"{cpu_model}, {os.cpu_count()} cores; "
          f"load average {load_before} before, {load_after} after\n")
    print(table)
    print()
for t in targets:
    for r in runs[t]:
        stored, sent = r["server"]["stored_samples"], r["load"]["samples_sent"]
        if stored != sent:
            print(f"\nnote: {names[t]} reports {stored} stored samples for {sent} accepted "
                  f"({r['server']['stored_samples_metric']})")
        if r["load"]["errors"]:
            print(f"\nnote: {names[t]} failed requests: {r['load']['errors']} "
                  f"e.g. {r['load']['error_examples']}")
        print(f"{names[t]}: {r['load']['samples_per_second']:,.0f} samples/s, "
              f"{r['server']['cpu_seconds']} CPU s ({r['server']['cpu_seconds_with_settle']} with settle)"
              + (f", distributor push mean {r['server']['distributor_push_mean_ms']} ms"
                 if r['server'].get('distributor_push_mean_ms') is not None else ""))
def disk_text(value):
    return "?" if value is None else f"{value:.2f}"

if query_lines:
    qw = report["queries"]["workload"]
    print(f"\nQueries: {qw['series']} series x {qw['scrapes']} scrapes every {qw['interval_seconds']:.0f}s "
          f"ending before T={qw['time']}; median of {qw['repeat']} timed run(s) per query after one warm-up\n")
    print("\n".join(query_lines))
    print()
    for key, value in query_summary.items():
        if value is None:
            continue
        if isinstance(value, float):
            print(f"{key}: {value:.2f}×" if "/" in key else f"{key}: {value:.2f}")
        else:
            print(f"{key}: {value}")
    for t, r in query_runs.items():
        b = r["backfill"] or {}
        print(f"{names[t]}: backfill {b.get('samples_per_second', 0):,.0f} samples/s "
              f"({b.get('requests_failed', '?')} failed requests), settled after {r['settle_seconds']}s, "
              f"{r['query_cpu_seconds']} CPU s for the query set, peak RSS {r['peak_rss_bytes'] / 2**20:.0f} MiB, "
              f"{disk_text(r.get('disk_bytes_per_sample'))} bytes on disk per sample after flush")
print(f"\nwrote {out}")
PY
