#!/usr/bin/env bash
# The gatehouse benchmark: gatehouse against the upstream alone, a byte relay (the floor), nginx
# (proxy, no auth), HAProxy 2.6 (native JWT) and the seed article's Node/Express gateway, on
# loopback. See bench/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]
  --quick              about a minute: 1 round of 1 s per measurement, 2,000 idle connections
  --duration SECONDS   length of one wrk measurement (default 5)
  --rounds N           interleaved rounds (default 2)
  --conns LIST         wrk connection counts (default 32,128)
  --threads N          threads of every gateway: tokio workers, nginx workers, HAProxy nbthread
                       (default 1; the Node gateway is one process)
  --wrk-threads N      wrk threads (default 2)
  --scenarios LIST     any of single,distinct,uncached,es256,uncached-es256,eddsa,
                       uncached-eddsa,flood,idle
                       (default: all)
  --targets LIST       any of upstream,relay,nginx,haproxy,node,node-keepalive,gatehouse,
                       gatehouse-nocache (default: all)
  --idle-conns N       idle keep-alive connections per target (default 10000)
  --port-base N        ports N+1..N+10 on 127.0.0.1 (default 18000)
  --no-install         do not install packages (apt-get, npm)
  --no-build           do not build (uses target/release as is)
  --out FILE           results file (default bench/results/YYYY-MM-DD-HHMM.md, UTC)
  --instructions       count user-space instructions per request instead (valgrind's
                       callgrind; deterministic, unlike time on a shared machine): nginx,
                       HAProxy and gatehouse, scenarios single,distinct,uncached,es256, 32
                       connections, one round; writes YYYY-MM-DD-HHMM-instructions.md
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
COMMAND="bench/run.sh${*:+ $*}"
DURATION=5
ROUNDS=2
CONNS=32,128
THREADS=1
WRK_THREADS=2
SCENARIOS=single,distinct,uncached,es256,uncached-es256,eddsa,uncached-eddsa,flood,idle
TARGETS=upstream,relay,nginx,haproxy,node,node-keepalive,gatehouse,gatehouse-nocache
IDLE_CONNS=10000
PORT_BASE=18000
INSTALL=1
BUILD=1
OUT=""
INSTRUCTIONS=0
# Distinct tokens per algorithm for the "uncached" scenarios: ten times gatehouse's verified-token
# cache (10,000 entries), so that (nearly) every request is verified.
UNCACHED_TOKENS=100000

while (($#)); do
  case "$1" in
    --quick) DURATION=1; ROUNDS=1; IDLE_CONNS=2000; UNCACHED_TOKENS=50000; shift ;;
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --wrk-threads) WRK_THREADS=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --idle-conns) IDLE_CONNS=$2; shift 2 ;;
    --port-base) PORT_BASE=$2; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --no-build) BUILD=0; shift ;;
    --out) OUT=$2; shift 2 ;;
    --instructions) INSTRUCTIONS=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

# Under callgrind a target runs some 50 times slower but executes the same instructions: one
# round at one connection count says all there is, and only native peers are measured (Node's JIT
# under valgrind would measure valgrind). The upstream is not instrumented.
if ((INSTRUCTIONS)); then
  [[ ",$SCENARIOS," == *,idle,* && " $COMMAND " == *" --scenarios "* ]] &&
    { echo "bench: --instructions measures no idle connections" >&2; exit 2; }
  [[ " $COMMAND " == *" --targets "* ]] || TARGETS=nginx,haproxy,gatehouse,gatehouse-nocache
  for t in upstream relay node node-keepalive; do
    [[ ",$TARGETS," == *,$t,* ]] &&
      { echo "bench: --instructions measures nginx, haproxy and gatehouse only" >&2; exit 2; }
  done
  [[ " $COMMAND " == *" --scenarios "* ]] || SCENARIOS=single,distinct,uncached,es256
  [[ " $COMMAND " == *" --conns "* ]] || CONNS=32
  [[ " $COMMAND " == *" --rounds "* ]] || ROUNDS=1
fi

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
has() { [[ ",$1," == *",$2,"* ]]; }
for n in "$DURATION" "$ROUNDS" "$THREADS" "$WRK_THREADS" "$IDLE_CONNS" "$PORT_BASE"; do
  [[ "$n" =~ ^[0-9]+$ && "$n" -gt 0 ]] || die "expected a positive integer, got '$n'"
done

PORT_UPSTREAM=$((PORT_BASE + 1))
PORT_NGINX=$((PORT_BASE + 2))
PORT_HAPROXY=$((PORT_BASE + 3))
PORT_NODE=$((PORT_BASE + 4))
PORT_GATEHOUSE=$((PORT_BASE + 5))
PORT_ADMIN=$((PORT_BASE + 6))
PORT_NODE_KEEPALIVE=$((PORT_BASE + 7))
PORT_NOCACHE=$((PORT_BASE + 8))
PORT_NOCACHE_ADMIN=$((PORT_BASE + 9))
PORT_RELAY=$((PORT_BASE + 10))

# ---------------------------------------------------------------------------------------------
# Processes: everything started here is stopped on exit.
RUN=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
declare -A PID=()
cleanup() {
  local status=$?
  local p
  for p in "${PID[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PID[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PID=()
  if ((status != 0)); then
    echo "bench: logs kept in $RUN" >&2
  elif ((INSTRUCTIONS)); then
    echo "bench: callgrind's dumps (callgrind.PID.N, for callgrind_annotate) kept in $RUN" >&2
  else
    rm -rf "$RUN"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Polls until 127.0.0.1:$1 accepts connections; at most $2 seconds.
wait_port() {
  local port=$1 limit=$2 name=$3 i
  for ((i = 0; i < limit * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if [[ -n "${PID[$name]:-}" ]] && ! kill -0 "${PID[$name]}" 2>/dev/null; then
      die "$name exited while starting; its log: $(tail -n 20 "$RUN/$name.log" 2>/dev/null)"
    fi
    sleep 0.1
  done
  die "$name did not listen on 127.0.0.1:$port within ${limit}s; log: $RUN/$name.log"
}

# Polls an HTTP path until it answers 200; at most $3 seconds.
wait_http_200() {
  local port=$1 path=$2 limit=$3 i line
  for ((i = 0; i < limit * 10; i++)); do
    line=$(timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET $path HTTP/1.0\r\nHost: x\r\n\r\n' >&3 && head -n 1 <&3" 2>/dev/null || true)
    [[ "$line" == *" 200 "* ]] && return 0
    sleep 0.1
  done
  die "http://127.0.0.1:$port$path did not answer 200 within ${limit}s"
}

port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    die "127.0.0.1:$1 is already in use; choose other ports with --port-base"
  fi
}

start() { # start NAME COMMAND...: in the background, logging to $RUN/NAME.log
  local name=$1; shift
  "$@" >>"$RUN/$name.log" 2>&1 &
  PID[$name]=$!
}
stop() { # stop NAME: SIGTERM, at most 5 s to exit, then SIGKILL
  local p=${PID[$1]:-}
  [[ -n "$p" ]] || return 0
  kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  unset "PID[$1]"
}

# The process ids of a target (its main process and direct children, e.g. nginx workers).
pids_of() {
  local main=${PID[$1]}
  echo "$main" $(pgrep -P "$main" || true)
}

CLK_TCK=$(getconf CLK_TCK)
cpu_us() { # user+system CPU of the processes, microseconds
  local total=0 p s f
  for p in "$@"; do
    s=$(<"/proc/$p/stat") || continue
    s=${s##*) }
    read -r -a f <<<"$s"
    total=$((total + f[11] + f[12]))
  done
  echo $((total * 1000000 / CLK_TCK))
}
status_kb() { # status_kb FIELD PIDS...: sum of a /proc/PID/status field (VmRSS, VmHWM), KB
  local field=$1 total=0 p v; shift
  for p in "$@"; do
    v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
callgrind_each() { # callgrind_each -z|-d PIDS: zero or dump the counts of each process
  local op=$1 p; shift
  for p in "$@"; do
    # callgrind_control takes one process at a time, and its request can be interrupted.
    timeout 60 callgrind_control "$op" "$p" >/dev/null 2>&1 ||
      timeout 60 callgrind_control "$op" "$p" >/dev/null || die "callgrind_control $op $p failed"
  done
}
latest_dump() { # latest_dump PID: the newest of PID's callgrind dumps
  # Each dump is numbered after the last; the newest holds the counts since the zeroing.
  ls -v "$RUN/callgrind.$1."* 2>/dev/null | tail -n 1 || true
}
callgrind_since_zero() { # instructions counted by callgrind in PIDS since their last zeroing
  local total=0 p dump n
  for p in "$@"; do
    dump=$(latest_dump "$p")
    n=$(awk '/^(summary|totals):/ { print $2; exit }' "${dump:-/dev/null}")
    # A count that cannot be read stops the run rather than enter the table as zero.
    [[ "$n" =~ ^[0-9]+$ ]] || die "no callgrind count for process $p in $RUN"
    total=$((total + n))
  done
  echo "$total"
}
reset_hwm() { # resets the peak RSS to the current RSS (Linux >= 4.0); best effort
  local p
  for p in "$@"; do echo 5 >"/proc/$p/clear_refs" 2>/dev/null || true; done
}

# ---------------------------------------------------------------------------------------------
# Install and build.
if ((INSTALL)); then
  missing=()
  command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
  command -v wrk >/dev/null || missing+=(wrk)
  ((INSTRUCTIONS)) && { command -v valgrind >/dev/null || missing+=(valgrind); }
  command -v npm >/dev/null || missing+=(nodejs npm)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    sudo_=""; ((EUID == 0)) || sudo_=sudo
    timeout 600 $sudo_ apt-get install -y "${missing[@]}" ||
      { timeout 300 $sudo_ apt-get update && timeout 600 $sudo_ apt-get install -y "${missing[@]}"; } ||
      die "cannot install ${missing[*]}"
  fi
  if [[ ! -d "$BENCH/node-gateway/node_modules" ]] ||
    [[ "$BENCH/node-gateway/package-lock.json" -nt "$BENCH/node-gateway/node_modules" ]]; then
    log "npm ci in bench/node-gateway"
    (cd "$BENCH/node-gateway" && timeout 300 npm ci --no-audit --no-fund) || die "npm ci failed"
  fi
fi
export PATH="$PATH:/usr/sbin"
for tool in nginx haproxy wrk node $( ((INSTRUCTIONS)) && echo valgrind callgrind_control); do
  command -v "$tool" >/dev/null || die "$tool is missing (run without --no-install)"
done
# How each measured target is started: as it is, or under callgrind, where startup takes seconds
# (hence the longer waits) and nginx serves from its master process (the same code its worker
# runs), so that one process holds the count.
WRAP=()
NGINX_MASTER=on
SLOW=1
if ((INSTRUCTIONS)); then
  WRAP=(valgrind --tool=callgrind "--callgrind-out-file=$RUN/callgrind.%p")
  NGINX_MASTER=off
  SLOW=6
fi
if ((BUILD)); then
  log "building gatehouse and gatehouse-bench (release)"
  (cd "$ROOT" && timeout 1800 cargo build --release -p gatehouse -p gatehouse-bench) ||
    die "cargo build failed"
fi
GATEHOUSE="$ROOT/target/release/gatehouse"
HELPER="$ROOT/target/release/gatehouse-bench"
[[ -x "$GATEHOUSE" && -x "$HELPER" ]] || die "release binaries missing (run without --no-build)"
revision() {
  echo "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- crates 2>/dev/null || echo ' (with uncommitted changes)')"
}
# Taken now, with the binaries: a commit made while the run is under way must not relabel them.
REVISION=$(revision)
BUILT=$(date -u -r "$GATEHOUSE" '+%Y-%m-%d %H:%M')

# Every process needs a descriptor per connection (the idle scenario opens IDLE_CONNS at once).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
MAXCONN=$((IDLE_CONNS + 256))
((NOFILE > MAXCONN + MAXCONN / 8 + 512)) ||
  die "ulimit -n is $NOFILE, too low for $IDLE_CONNS idle connections (lower --idle-conns)"

# ---------------------------------------------------------------------------------------------
# Keys, tokens and configurations.
KEYS="$RUN/keys"
log "generating keys and tokens"
MANY=0
[[ ",$SCENARIOS," == *,uncached* ]] && MANY=$UNCACHED_TOKENS
"$HELPER" keys --out "$KEYS" --count 1000 --many "$MANY" >/dev/null
render() { # render TEMPLATE OUTPUT PORT [ADMIN_PORT [CACHE_ENTRIES]]
  sed -e "s|@PORT@|$3|g" -e "s|@ADMIN_PORT@|${4:-$PORT_ADMIN}|g" -e "s|@CACHE_ENTRIES@|${5:-10000}|g" -e "s|@UPSTREAM_PORT@|$PORT_UPSTREAM|g" \
    -e "s|@THREADS@|$THREADS|g" -e "s|@NOFILE@|$NOFILE|g" -e "s|@MAXCONN@|$MAXCONN|g" -e "s|@NGINX_CONNS@|$((NOFILE - 256))|g" -e "s|@NGINX_MASTER@|$NGINX_MASTER|g" -e "s|@KEYS@|$KEYS|g" -e "s|@RUN@|$RUN|g" "$1" >"$2"
}
render "$BENCH/conf/gatehouse.yaml" "$RUN/gatehouse.yaml" "$PORT_GATEHOUSE"
# The same gateway with its verified-token cache off: every request is verified.
render "$BENCH/conf/gatehouse.yaml" "$RUN/gatehouse-nocache.yaml" "$PORT_NOCACHE" "$PORT_NOCACHE_ADMIN" 0
render "$BENCH/conf/nginx.conf" "$RUN/nginx.conf" "$PORT_NGINX"
render "$BENCH/conf/haproxy.cfg" "$RUN/haproxy.cfg" "$PORT_HAPROXY"

# ---------------------------------------------------------------------------------------------
# Start every target.
for port in "$PORT_UPSTREAM" "$PORT_NGINX" "$PORT_HAPROXY" "$PORT_NODE" "$PORT_GATEHOUSE" "$PORT_ADMIN" \
  "$PORT_NODE_KEEPALIVE" "$PORT_NOCACHE" "$PORT_NOCACHE_ADMIN" "$PORT_RELAY"; do
  port_free "$port"
done
start_all() { # the upstream and every target, each polled until it serves
  start upstream "$HELPER" upstream --listen "127.0.0.1:$PORT_UPSTREAM" --threads 1
  wait_port "$PORT_UPSTREAM" 10 upstream
  if has "$TARGETS" relay; then
    start relay "$HELPER" relay --listen "127.0.0.1:$PORT_RELAY" \
      --upstream "127.0.0.1:$PORT_UPSTREAM" --threads "$THREADS"
    wait_port "$PORT_RELAY" 10 relay
  fi
  if has "$TARGETS" nginx; then
    start nginx "${WRAP[@]}" nginx -p "$RUN" -e "$RUN/nginx.error.log" -c "$RUN/nginx.conf"
    wait_port "$PORT_NGINX" $((10 * SLOW)) nginx
  fi
  if has "$TARGETS" haproxy; then
    start haproxy "${WRAP[@]}" haproxy -db -f "$RUN/haproxy.cfg"
    wait_port "$PORT_HAPROXY" $((10 * SLOW)) haproxy
  fi
  if has "$TARGETS" node; then
    (cd "$BENCH/node-gateway" && NODE_ENV=production PORT=$PORT_NODE \
      UPSTREAM="http://127.0.0.1:$PORT_UPSTREAM" JWT_SECRET="$(<"$KEYS/rs256.pub.pem")" \
      exec node gateway.js) >>"$RUN/node.log" 2>&1 &
    PID[node]=$!
    wait_port "$PORT_NODE" 20 node
  fi
  if has "$TARGETS" node-keepalive; then
    (cd "$BENCH/node-gateway" && NODE_ENV=production PORT=$PORT_NODE_KEEPALIVE KEEPALIVE=1 \
      UPSTREAM="http://127.0.0.1:$PORT_UPSTREAM" JWT_SECRET="$(<"$KEYS/rs256.pub.pem")" \
      exec node gateway.js) >>"$RUN/node-keepalive.log" 2>&1 &
    PID[node-keepalive]=$!
    wait_port "$PORT_NODE_KEEPALIVE" 20 node-keepalive
  fi
  if has "$TARGETS" gatehouse; then
    GATEHOUSE_WORKER_THREADS=$THREADS start gatehouse "${WRAP[@]}" "$GATEHOUSE" run \
      --config "$RUN/gatehouse.yaml"
    wait_port "$PORT_GATEHOUSE" $((20 * SLOW)) gatehouse
    wait_http_200 "$PORT_ADMIN" /readyz $((20 * SLOW))
  fi
  if has "$TARGETS" gatehouse-nocache; then
    GATEHOUSE_WORKER_THREADS=$THREADS start gatehouse-nocache "${WRAP[@]}" "$GATEHOUSE" run \
      --config "$RUN/gatehouse-nocache.yaml"
    wait_port "$PORT_NOCACHE" $((20 * SLOW)) gatehouse-nocache
    wait_http_200 "$PORT_NOCACHE_ADMIN" /readyz $((20 * SLOW))
  fi
}
stop_all() { # stops every process started so far, waiting (bounded) until each has exited
  local name
  for name in "${!PID[@]}"; do stop "$name"; done
}
has "$TARGETS" nginx &&
  { nginx -t -q -p "$RUN" -e "$RUN/nginx.error.log" -c "$RUN/nginx.conf" || die "nginx configuration invalid"; }
has "$TARGETS" haproxy &&
  { haproxy -c -q -f "$RUN/haproxy.cfg" || die "HAProxy configuration invalid"; }
for conf in gatehouse gatehouse-nocache; do
  has "$TARGETS" "$conf" &&
    { "$GATEHOUSE" check --config "$RUN/$conf.yaml" >/dev/null || die "$conf configuration invalid"; }
done
log "starting the upstream and the targets ($THREADS thread(s) each)"
start_all
port_of() {
  case $1 in
    upstream) echo "$PORT_UPSTREAM" ;; nginx) echo "$PORT_NGINX" ;; haproxy) echo "$PORT_HAPROXY" ;;
    node) echo "$PORT_NODE" ;; gatehouse) echo "$PORT_GATEHOUSE" ;;
    node-keepalive) echo "$PORT_NODE_KEEPALIVE" ;; gatehouse-nocache) echo "$PORT_NOCACHE" ;;
    relay) echo "$PORT_RELAY" ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Functional check: every target, before anything is measured.
check() { # check TARGET PATH ALG
  "$HELPER" check --name "$1" --addr "127.0.0.1:$(port_of "$1")" --path "$2" --alg "$3" \
    --keys "$KEYS" --deny 401 || die "stopping: $1 failed the functional check"
}
check_proxy() { # targets without authentication: a request reaches the upstream and answers 200
  local line
  line=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$(port_of "$1") && printf 'GET /rs256 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3 && cat <&3" 2>/dev/null || true)
  [[ "$line" == "HTTP/1.1 200"* && "$line" == *"ok"* ]] ||
    die "stopping: $1 failed the functional check (no 200 from the upstream through it)"
  echo "functional check passed: $1 (plain proxy, no authentication)"
}
log "functional checks"
for t in ${TARGETS//,/ }; do
  case $t in
    upstream | relay | nginx) check_proxy "$t" ;;
    node | node-keepalive) check "$t" /rs256 rs256 ;;
    haproxy) check haproxy /rs256 rs256; check haproxy /es256 es256 ;;
    gatehouse | gatehouse-nocache)
      check "$t" /rs256 rs256; check "$t" /es256 es256; check "$t" /eddsa eddsa ;;
  esac
done

# ---------------------------------------------------------------------------------------------
# Load.
RAW="$RUN/raw.tsv"
: >"$RAW"
INSTR="$RUN/instructions.tsv"
: >"$INSTR"
DUMPS="$RUN/dumps.tsv"
: >"$DUMPS"
VERIFY="$RUN/verify.tsv"
: >"$VERIFY"
scenario_targets() {
  local s
  case $1 in
    # The cache-off gateway verifies every request whatever the token set: it runs where its
    # figure is compared (distinct tokens, each algorithm), not again on the 100,000-token sets.
    single) s=upstream,relay,nginx,haproxy,node,node-keepalive,gatehouse ;;
    distinct) s=upstream,relay,nginx,haproxy,node,node-keepalive,gatehouse,gatehouse-nocache ;;
    uncached) s=haproxy,node,gatehouse ;;
    flood) s=haproxy,node,gatehouse,gatehouse-nocache ;;
    es256) s=haproxy,gatehouse,gatehouse-nocache ;;
    uncached-es256) s=haproxy,gatehouse ;;
    eddsa) s=gatehouse,gatehouse-nocache ;;
    uncached-eddsa) s=gatehouse ;;
  esac
  local t
  for t in ${s//,/ }; do has "$TARGETS" "$t" && echo "$t"; done
  return 0
}
scenario_args() { # path, tokens file, classify responses
  case $1 in
    single) echo "/rs256 $KEYS/rs256.token 0" ;;
    distinct) echo "/rs256 $KEYS/rs256.tokens 0" ;;
    uncached) echo "/rs256 $KEYS/rs256.many 0" ;;
    uncached-es256) echo "/es256 $KEYS/es256.many 0" ;;
    uncached-eddsa) echo "/eddsa $KEYS/eddsa.many 0" ;;
    es256) echo "/es256 $KEYS/es256.tokens 0" ;;
    eddsa) echo "/eddsa $KEYS/eddsa.tokens 0" ;;
    flood) echo "/rs256 $KEYS/rs256.flood 1" ;;
  esac
}
# The single-token file needs a newline for wrk's line reader.
[[ -f "$KEYS/rs256.token" ]] && echo >>"$KEYS/rs256.token"

# gatehouse's verified-token cache lookups so far: "HITS MISSES" (from /metrics).
cache_lookups() {
  timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT_ADMIN && printf 'GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n' >&3 && cat <&3" 2>/dev/null |
    awk '/^[a-z_]*auth_token_cache_lookups_total[{]/ {
           if ($0 ~ /result="hit"/) h += $NF; else if ($0 ~ /result="miss"/) m += $NF
         } END { printf "%d %d\n", h, m }'
}

measure() { # measure SCENARIO CONNS TARGET ROUND DURATION
  local scenario=$1 conns=$2 target=$3 round=$4 duration=$5
  local path tokens count pids cpu0 cpu1 out line
  read -r path tokens count <<<"$(scenario_args "$scenario")"
  pids=$(pids_of "$target")
  # shellcheck disable=SC2086
  reset_hwm $pids
  local hits0=0 misses0=0 hits1=0 misses1=0 hit_pct=-
  [[ "$target" == gatehouse ]] && read -r hits0 misses0 <<<"$(cache_lookups)"
  # shellcheck disable=SC2086
  cpu0=$(cpu_us $pids)
  ((INSTRUCTIONS)) && callgrind_each -z $pids
  out=$(BENCH_PATH=$path BENCH_TOKENS=$tokens BENCH_COUNT=$count \
    timeout $((duration + 30)) wrk -t "$WRK_THREADS" -c "$conns" -d "${duration}s" --timeout 5s \
    -s "$BENCH/wrk/bench.lua" "http://127.0.0.1:$(port_of "$target")" 2>&1) ||
    die "wrk failed against $target: $out"
  # shellcheck disable=SC2086
  cpu1=$(cpu_us $pids)
  local instructions=0
  if ((INSTRUCTIONS)); then
    # shellcheck disable=SC2086
    callgrind_each -d $pids
    # shellcheck disable=SC2086
    instructions=$(callgrind_since_zero $pids)
  fi
  if [[ "$target" == gatehouse ]]; then
    read -r hits1 misses1 <<<"$(cache_lookups)"
    local lookups=$((hits1 - hits0 + misses1 - misses0))
    ((lookups > 0)) && hit_pct=$(((hits1 - hits0) * 100 / lookups))
  fi
  line=$(grep '^BENCH ' <<<"$out") || die "no result line from wrk against $target: $out"
  # shellcheck disable=SC2086
  read -r _ requests dur p50 p99 sock status ok refused other <<<"$line"
  if ((INSTRUCTIONS)) && [[ "$round" != warmup ]]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$conns" "$target" "$requests" "$instructions" \
      "$((sock + status + other))" "$hit_pct" >>"$INSTR"
    log "$scenario c=$conns $target: $requests requests, $((instructions / (requests > 0 ? requests : 1))) instructions per request, cache hit % $hit_pct"
    # gatehouse is one process: its dump is split by component in the report.
    if [[ "$target" == gatehouse* ]]; then
      printf '%s\t%s\t%s\n' "$scenario c=$conns $target" "$requests" \
        "$(latest_dump "${pids%% *}")" >>"$DUMPS"
    fi
  fi
  if [[ "$round" != warmup ]]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$conns" \
      "$target" "$round" "$requests" "$dur" "$p50" "$p99" "$((cpu1 - cpu0))" \
      "$(status_kb VmHWM $pids)" "$sock" "$status" "$ok" "$refused" "$other" "$hit_pct" >>"$RAW"
    log "$scenario c=$conns $target: $((requests * 1000000 / dur)) req/s, p99 ${p99}us, $(((cpu1 - cpu0) / (requests > 0 ? requests : 1))) us CPU/req, errors $sock/$status, cache hit % $hit_pct"
  fi
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RUSTC_START=$(pgrep -c rustc || true)
((RUSTC_START == 0)) || log "warning: $RUSTC_START rustc processes are running; throughput will suffer"
LOAD_SCENARIOS=()
for s in ${SCENARIOS//,/ }; do
  case $s in
    single | distinct | uncached | es256 | uncached-es256 | eddsa | uncached-eddsa | flood)
      LOAD_SCENARIOS+=("$s") ;;
    idle) ;;
    *) die "unknown scenario $s" ;;
  esac
done
if ((${#LOAD_SCENARIOS[@]})); then
  log "warm-up"
  for t in ${TARGETS//,/ }; do measure distinct 32 "$t" warmup 1; done
  for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round of $ROUNDS"
    for s in "${LOAD_SCENARIOS[@]}"; do
      for c in ${CONNS//,/ }; do
        for t in $(scenario_targets "$s"); do
          # Under callgrind a few thousand requests are measured: each scenario's tokens must
          # already be in the cache, or its misses would be counted as the cache's cost.
          # (Not the uncached ones, whose tokens must stay new.)
          ((INSTRUCTIONS)) && [[ "$s" != uncached* ]] && measure "$s" "$c" "$t" warmup "$DURATION"
          measure "$s" "$c" "$t" "$round" "$DURATION"
        done
      done
    done
    # The floor's other half, once a round between the loads: one RS256 signature check.
    if ((!INSTRUCTIONS)) && has "$TARGETS" relay && has "$SCENARIOS" distinct; then
      v=$(timeout 120 "$HELPER" verify-cost --keys "$KEYS" --alg rs256) || die "verify-cost failed"
      echo "$v" >>"$VERIFY"
      log "one RS256 signature check: $v us CPU"
    fi
  done
fi

# ---------------------------------------------------------------------------------------------
# Idle keep-alive connections: RSS of the target before and after opening them.
IDLE="$RUN/idle.tsv"
: >"$IDLE"
if has "$SCENARIOS" idle; then
  # Fresh processes: what the load left in allocators, pools and heaps would hide the growth.
  log "restarting every target for the idle connections"
  stop_all
  start_all
  token=$(head -n 1 "$KEYS/rs256.token")
  for t in ${TARGETS//,/ }; do
    # The cache-off variant holds connections as gatehouse does. The article's Node gateway
    # closes every connection after one request (no keep-alive agent upstream): its keep-alive
    # variant stands for Node here.
    # The relay is no gateway: it holds a second socket per connection and keeps nothing else.
    [[ "$t" == node || "$t" == gatehouse-nocache || "$t" == relay ]] && continue
    pids=$(pids_of "$t")
    # shellcheck disable=SC2086
    before=$(status_kb VmRSS $pids)
    "$HELPER" idle --addr "127.0.0.1:$(port_of "$t")" --path /rs256 --token "$token" \
      --count "$IDLE_CONNS" --hold 300 >"$RUN/idle-$t.log" 2>&1 &
    PID[idle]=$!
    ready=0
    for ((i = 0; i < 1200; i++)); do
      if grep -qs '^ready' "$RUN/idle-$t.log"; then ready=1; break; fi
      kill -0 "${PID[idle]}" 2>/dev/null || break
      sleep 0.1
    done
    ((ready)) || die "idle connections to $t failed: $(tail -n 5 "$RUN/idle-$t.log")"
    # shellcheck disable=SC2086
    after=$(status_kb VmRSS $pids)
    # The connections the target really holds open (the client's view could hide closed ones).
    held=$(ss -Htn state established "( sport = :$(port_of "$t") )" 2>/dev/null | wc -l || echo "?")
    printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$IDLE_CONNS" "$before" "$after" "$held" >>"$IDLE"
    log "idle $t: $IDLE_CONNS connections ($held established), RSS ${before} -> ${after} KB"
    kill -TERM "${PID[idle]}" 2>/dev/null || true
    wait "${PID[idle]}" 2>/dev/null || true
    unset 'PID[idle]'
  done
fi

# ---------------------------------------------------------------------------------------------
# Report.
STAMP=$(date -u +%Y-%m-%d-%H%M)
((INSTRUCTIONS)) && OUT=${OUT:-$BENCH/results/$STAMP-instructions.md}
OUT=${OUT:-$BENCH/results/$STAMP.md}
mkdir -p "$(dirname "$OUT")"
MOVED=""
[[ "$(revision)" == "$REVISION" ]] || MOVED="; the tree was at $(revision) by the end of the run"
version_of() { node -e "console.log(require('$BENCH/node-gateway/node_modules/$1/package.json').version)"; }
{
  echo "# gatehouse benchmark, $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "Command: \`$COMMAND\`"
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| machine | $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM |"
  echo "| kernel | $(uname -sr) |"
  echo "| gatehouse | $REVISION when the run started (binary built $BUILT UTC$MOVED), $(rustc --version 2>/dev/null || echo rustc) |"
  echo "| nginx | $(nginx -v 2>&1 | sed 's|nginx version: ||') |"
  echo "| HAProxy | $(haproxy -v | head -n 1 | awk '{ print $3 }') |"
  echo "| Node gateway | node $(node --version), express $(version_of express), jsonwebtoken $(version_of jsonwebtoken), http-proxy-middleware $(version_of http-proxy-middleware) |"
  echo "| load | $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'), $WRK_THREADS threads, ${DURATION} s per measurement, $ROUNDS round(s), connections $CONNS |"
  echo "| machine load | load average at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg); rustc processes at the start: $RUSTC_START |"
  echo "| threads | $THREADS per gateway (gatehouse tokio workers, nginx worker processes, HAProxy nbthread); Node: one process; upstream: 1 tokio worker |"
} >"$RUN/header.md"
split_components() { # each dump in $DUMPS split by component into $RUN/components.tsv
  : >"$RUN/components.tsv"
  # With several worker threads, frames on each thread's stack at the dump blur the split.
  ((THREADS == 1)) || return 0
  local i=0 label requests dump
  while IFS=$'\t' read -r label requests dump; do
    i=$((i + 1))
    callgrind_annotate --inclusive=no --threshold=100 --auto=no "$dump" |
      awk -f "$BENCH/components.awk" |
      awk -F'\t' -v col="$i" -v label="$label" -v requests="$requests" \
        '{ printf "%s\t%s\t%s\t%.0f\n", col, label, $1, (requests > 0 ? $2 / requests : 0) }' \
        >>"$RUN/components.tsv" || die "could not split $dump by component"
  done <"$DUMPS"
}
components() { # the report's table of where gatehouse's instructions go
  if [[ ! -s "$RUN/components.tsv" ]]; then
    ((THREADS == 1)) || printf '\nWhere the instructions go is split with one worker thread only.\n'
    return 0
  fi
  echo
  echo "### Where gatehouse's instructions go"
  echo
  echo "Instructions per request by the crate (Rust) or library (C) whose code ran them, from the"
  echo "same callgrind counts (\`bench/components.awk\`); \`core\`, \`alloc\` and \`std\` hold the"
  echo "generic standard-library code compiled for gatehouse's types. Components under 0.5% of"
  echo "every column are summed in the last row but one."
  awk -F'\t' '
    { if (!($1 in label)) { label[$1] = $2; cols = $1 > cols ? $1 : cols }
      cost[$3, $1] = $4; total[$1] += $4; name[$3] = 1 }
    END {
      for (c in name) {
        big = 0
        for (k = 1; k <= cols; k++) if (cost[c, k] >= 0.005 * total[k]) big = 1
        if (big) { key[++n] = c; sortby[c] = cost[c, 1] } else small[c] = 1
      }
      # Largest first, by the first column.
      for (i = 2; i <= n; i++) for (j = i; j > 1 && sortby[key[j]] > sortby[key[j - 1]]; j--) {
        t = key[j]; key[j] = key[j - 1]; key[j - 1] = t
      }
      printf "\n| component |"; for (k = 1; k <= cols; k++) printf " %s |", label[k]
      printf "\n|---|"; for (k = 1; k <= cols; k++) printf "---:|"
      printf "\n"
      for (i = 1; i <= n; i++) {
        printf "| %s |", key[i]; for (k = 1; k <= cols; k++) printf " %d |", cost[key[i], k]
        printf "\n"
      }
      printf "| everything else |"
      for (k = 1; k <= cols; k++) { rest = 0; for (c in small) rest += cost[c, k]; printf " %d |", rest }
      printf "\n| **total** |"; for (k = 1; k <= cols; k++) printf " **%d** |", total[k]
      printf "\n"
    }' "$RUN/components.tsv"
}
if ((INSTRUCTIONS)); then
  # Before the report is opened: a failure here must not leave half a report behind.
  split_components
  {
    sed 's/^# gatehouse benchmark,/# gatehouse benchmark: instructions per request,/' "$RUN/header.md"
    echo "| counted by | $(valgrind --version), \`--tool=callgrind\`, user space only |"
    echo
    echo "Instructions each target executed in user space while it served the measured requests,"
    echo "counted by callgrind from zero after a warm-up run of the same scenario (none for the"
    echo "uncached ones, whose tokens must stay new), divided by the requests wrk completed."
    echo "Deterministic, whatever else the machine does; the kernel's share (loopback TCP, about"
    echo "two thirds of a cache-hit request) is not in it. valgrind emulates no SHA extensions, so"
    echo "SHA-256 (gatehouse's cache key, every signature's digest) runs its vector code here."
    echo "In parentheses: the ratio to HAProxy in the same scenario."
    awk -F'\t' '
      { key = $1; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
        per = $4 > 0 ? $5 / $4 : 0; rows[key] = rows[key] sprintf("%s\t%d\t%.0f\t%d\t%s\n", $3, $4, per, $6, $7)
        if ($3 == "haproxy") base[key] = per }
      END {
        for (i = 1; i <= n; i++) {
          key = order[i]
          printf "\n### %s\n\n| target | requests | instructions per request | errors | cache hits |\n|---|---:|---:|---:|---:|\n", key
          m = split(rows[key], lines, "\n")
          for (j = 1; j < m; j++) {
            split(lines[j], f, "\t")
            ratio = (key in base && base[key] > 0) ? sprintf(" (%.2f×)", f[3] / base[key]) : ""
            hits = f[5] == "-" ? "—" : f[5] "%"
            printf "| %s | %d | %d%s | %d | %s |\n", f[1], f[2], f[3], ratio, f[4], hits
          }
        }
      }' "$INSTR"
    components
  } >"$OUT"
  cp "$INSTR" "${OUT%.md}.tsv"
  log "results: $OUT"
  exit 0
fi
"$HELPER" report --raw "$RAW" --header "$RUN/header.md" \
  $([[ -s "$IDLE" ]] && echo "--idle $IDLE") $([[ -s "$VERIFY" ]] && echo "--verify $VERIFY") \
  >"$OUT" || die "report failed"
cp "$RAW" "${OUT%.md}.raw.tsv"
[[ -s "$VERIFY" ]] && cp "$VERIFY" "${OUT%.md}.verify.tsv"
[[ -s "$IDLE" ]] && cp "$IDLE" "${OUT%.md}.idle.tsv"
log "results: $OUT"
