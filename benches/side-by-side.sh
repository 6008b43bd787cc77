#!/usr/bin/env bash
# Ingest side by side: the same remote-write load into Norn, Prometheus and VictoriaMetrics,
# one after the other on this machine, each on 127.0.0.1 with a fresh temporary data directory.
# For each server it records the load tool's samples/s and latencies, the server's CPU seconds
# (utime+stime from /proc/<pid>/stat over the run) and its peak RSS (VmHWM), then prints one
# markdown table with Norn/Prometheus and Norn/VictoriaMetrics ratios and writes JSON.
#
# Usage: benches/side-by-side.sh [--series N] [--scrapes N] [--interval D] [--concurrency N]
#                                [--batch N] [--targets "norn prometheus victoriametrics"]
#                                [--repeat N] [--settle SECONDS] [--out FILE] [--no-build] [--keep]
# Every flag has an environment twin: NORN_SBS_SERIES, NORN_SBS_SCRAPES, NORN_SBS_INTERVAL,
# NORN_SBS_CONCURRENCY, NORN_SBS_BATCH, NORN_SBS_TARGETS, NORN_SBS_REPEAT, NORN_SBS_SETTLE,
# NORN_SBS_OUT. The targets run in turn --repeat times (default 3, a fresh server each time) and
# the table shows the median of each column.
# The defaults (100k series x 20 scrapes, 2M samples per server, 3 repeats) take about two
# minutes on 2 cores once Norn is built. See docs/benchmarks.md, "Ingest side by side".
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
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for number in "$series" "$scrapes" "$concurrency" "$batch" "$settle" "$repeat"; do
  [[ $number =~ ^[0-9]+$ ]] || { echo "not a number: $number" >&2; exit 2; }
done

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
[[ -x $norn_bin && -x $bench_bin ]] || { echo "missing $norn_bin or $bench_bin (drop --no-build)" >&2; exit 1; }

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

# --- one target ------------------------------------------------------------------------------
# run_target TARGET RUN: one fresh server, one load, one result.json under $work/TARGET-RUN.
run_target() {
  local target=$1 dir=$work/$1-$2 port url ready metrics_url version stored_metric
  mkdir -p "$dir"
  port=$(free_port)
  case $target in
    norn)
      "$norn_bin" -target=all -auth.multitenancy-enabled=false \
        -server.http-listen-address=127.0.0.1 -server.http-listen-port="$port" \
        -blocks-storage.tsdb.dir="$dir/tsdb" -blocks-storage.filesystem.dir="$dir/bucket" \
        -blocks-storage.bucket-store.sync-dir="$dir/tsdb-sync" -compactor.data-dir="$dir/compactor" \
        -distributor.ingestion-rate-limit=1000000000 -distributor.ingestion-burst-size=1000000000 \
        -ingester.max-global-series-per-user=0 >"$dir/server.log" 2>&1 &
      server_pid=$!
      url=http://127.0.0.1:$port/api/v1/push
      ready=http://127.0.0.1:$port/ready
      metrics_url=http://127.0.0.1:$port/metrics
      version=$("$norn_bin" -version 2>/dev/null || true)
      stored_metric=cortex_ingester_ingested_samples_total
      ;;
    prometheus)
      printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$dir/prometheus.yml"
      prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
        --web.listen-address="127.0.0.1:$port" --web.enable-remote-write-receiver \
        >"$dir/server.log" 2>&1 &
      server_pid=$!
      url=http://127.0.0.1:$port/api/v1/write
      ready=http://127.0.0.1:$port/-/ready
      metrics_url=http://127.0.0.1:$port/metrics
      version=$(prometheus --version 2>&1 || true)
      stored_metric=prometheus_tsdb_head_samples_appended_total
      ;;
    victoriametrics)
      victoria-metrics -storageDataPath="$dir/data" -httpListenAddr="127.0.0.1:$port" \
        >"$dir/server.log" 2>&1 &
      server_pid=$!
      url=http://127.0.0.1:$port/api/v1/write
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
  sleep 1 # let start-up work (WAL/ring/cache set-up) finish before the baseline
  local rss_before cpu_before cpu_after cpu_settled hwm rss_after rss_anon rss_file load_rc=0
  rss_before=$(status_kib "$server_pid" VmRSS)
  cpu_before=$(cpu_seconds "$server_pid")
  "$bench_bin" loadgen --url "$url" --series "$series" --scrapes "$scrapes" \
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
load_after=$(cut -d ' ' -f 1-3 /proc/loadavg)

mkdir -p "$(dirname "$out")"
python3 - "$work" "$out" "$load_before" "$load_after" "${run_dirs[@]}" <<'PY'
import json, os, platform, statistics, sys, time
work, out, load_before, load_after, *run_dirs = sys.argv[1:]
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
first = runs[targets[0]][0]["load"]
report = {
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "machine": {"cpu": cpu_model, "cores": os.cpu_count(), "kernel": platform.release(),
                "loadavg_before": load_before, "loadavg_after": load_after},
    "workload": {k: first[k] for k in ("series", "scrapes", "interval_seconds", "batch", "concurrency")},
    "repeat": len(runs[targets[0]]),
    "rows": rows,
    "ratios": ratios,
    "runs": runs,
    "table_markdown": table,
}
with open(out, "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
w = report["workload"]
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
print(f"\nwrote {out}")
PY
