#!/usr/bin/env bash
# A real one-node SLURM cluster on localhost, for tests and for trying `collapse slurm` out.
#
#   Scripts/slurm/local-cluster.sh up          start it; prints `export SLURM_CONF=...` on stdout
#   Scripts/slurm/local-cluster.sh down DIR    stop what `up` started in DIR and remove DIR
#
#   eval "$(Scripts/slurm/local-cluster.sh up)"      # then sbatch, squeue, sinfo talk to it
#
# `up` installs the Debian packages slurmctld, slurmd, slurm-client and munge when they are missing
# (as root with apt-get: `apt-get update` once, then `apt-get install --no-install-recommends`).
# When it cannot (not root, no apt-get) it prints `skipped: <reason>` and exits 77, the usual
# "skipped" status of test harnesses.
#
# Everything lives in a fresh temporary directory (mktemp -d): the munge key and socket, a
# generated slurm.conf (proctrack/linuxproc, task/none, select/cons_tres with CR_Core, no
# accounting, SlurmUser=root, free TCP ports), the controller's state, slurmd's spool, logs and pid
# files. munged, `slurmctld -D` and `slurmd -D -N localhost` run in the background; their pids are
# listed in DIR/pids. `up` waits (at most 30 s) until sinfo shows the node idle. If anything fails
# on the way, the trap stops exactly the daemons it started and removes DIR. `down` cancels the
# jobs still queued on this private cluster, stops the recorded pids (TERM, then KILL after 10 s),
# and removes DIR. Nothing is touched outside DIR (except the apt install) and no system service
# is started or stopped.
#
# Exit status: 0 success, 77 skipped (cannot run here), 1 failure (the message says what; the
# daemons' logs are printed).
set -euo pipefail

PACKAGES=(slurmctld slurmd slurm-client munge)
PROG=local-cluster.sh

say() { echo "$PROG: $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 64
}

# ---------------------------------------------------------------- installation

packages_missing() {
  local missing=()
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  echo "${missing[*]:-}"
}

ensure_installed() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "skipped: not root (slurmd, slurmctld and munged must run as root for this one-node test cluster)"
    exit 77
  fi
  local missing
  if command -v dpkg-query >/dev/null 2>&1; then
    missing=$(packages_missing)
  else
    missing=""
    for cmd in slurmctld slurmd sbatch squeue sinfo munged; do
      command -v "$cmd" >/dev/null 2>&1 || missing="${PACKAGES[*]}"
    done
  fi
  [ -z "$missing" ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "skipped: no apt-get to install $missing (install SLURM and munge by hand to run this)"
    exit 77
  fi
  say "installing $missing with apt-get"
  local start=$SECONDS log
  log=$(mktemp "${TMPDIR:-/tmp}/collapse-slurm-apt.XXXXXX")
  # shellcheck disable=SC2086
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    die "apt-get could not install $missing (its output is above)"
  fi
  rm -f "$log"
  say "installed $missing in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------- helpers

# A TCP port nobody listens on (IPv4 or IPv6), from a pseudo-random start.
port_in_use() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

free_port() {
  local port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 )) tries=0
  while port_in_use "$port" || port_in_use $((port + 1)); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
    tries=$((tries + 1))
    [ "$tries" -lt 200 ] || die "no free TCP port found"
  done
  echo "$port"
}

# Starts a daemon in the background as a clean process: stdin from /dev/null, stdout and stderr
# to the log file $2, no other inherited descriptors (a caller's pipe or socket, e.g. the one
# Foundation's Process watches to see its child exit, must not be held open by the daemon), and no
# blocked signals (a caller that spawned us from a thread with blocked signals, as libdispatch
# workers have, would otherwise leave SIGTERM blocked in the daemon; perl-base is Essential in
# Debian). Appends "pid name" to $DIR/pids.
launch() {
  local name=$1 log=$2
  shift 2
  (
    exec </dev/null >"$log" 2>&1
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] 2>/dev/null; then { exec {fd}>&-; } 2>/dev/null || true; fi
    done
    if command -v perl >/dev/null 2>&1; then
      exec perl -MPOSIX -e 'sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die "sigprocmask: $!\n"; exec { $ARGV[0] } @ARGV or die "cannot run $ARGV[0]: $!\n"' -- "$@"
    fi
    exec "$@"
  ) &
  echo "$! $name" >>"$DIR/pids"
}

# True while pid $1 is alive and not a zombie.
alive() {
  local state
  [ -r "/proc/$1/stat" ] || return 1
  read -r _ _ state _ <"/proc/$1/stat" 2>/dev/null || return 1
  [ "$state" != Z ]
}

# True while pid $1 is alive and its command line mentions $2 (guards against pid reuse when
# `down` runs long after `up`).
ours() {
  alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# Stops the daemons listed in $1/pids (in reverse start order), by pid only. With $2 = children,
# the caller is the shell that started them (the failure path of `up`): they are its own children,
# so their pids cannot have been reused, even before they have exec'd into the daemon.
stop_pids() {
  local dir=$1 children=${2:-} pids=() pid
  [ -f "$dir/pids" ] || return 0
  while read -r pid _; do [ -n "$pid" ] && pids=("$pid" "${pids[@]}"); done <"$dir/pids"
  target() { if [ -n "$children" ]; then alive "$1"; else ours "$1" "$dir"; fi; }
  for pid in "${pids[@]}"; do
    if target "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  local deadline=$((SECONDS + 10))
  for pid in "${pids[@]}"; do
    while target "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if target "$pid"; then
      say "pid $pid did not stop within 10 s of SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [ -n "$children" ]; then wait 2>/dev/null || true; fi
}

print_logs() {
  local dir=$1 f
  # The daemons run in the foreground: their .out files hold everything they logged.
  for f in "$dir"/munged.out "$dir"/slurmctld.out "$dir"/slurmd.out; do
    [ -s "$f" ] || continue
    echo "---- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}

# ---------------------------------------------------------------- up

up() {
  ensure_installed
  local started=$SECONDS
  for cmd in munged slurmctld slurmd sinfo; do
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd is not on PATH after installing ${PACKAGES[*]}"
  done

  DIR=$(mktemp -d "${TMPDIR:-/tmp}/collapse-slurm.XXXXXX")
  chmod 0711 "$DIR"   # munged wants its socket reachable (x) by everyone; nothing is listable
  : >"$DIR/pids"
  trap 'status=$?; if [ $status -ne 0 ]; then print_logs "$DIR"; stop_pids "$DIR" children; rm -rf "$DIR"; fi' EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge"
  chmod 0711 "$DIR/munge"

  # munge: a fresh key, the daemon's socket inside DIR.
  if command -v mungekey >/dev/null 2>&1; then
    mungekey --create --keyfile="$DIR/munge/munge.key" >/dev/null 2>&1 || true
  fi
  if [ ! -s "$DIR/munge/munge.key" ]; then
    dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 0400 "$DIR/munge/munge.key"
  local socket="$DIR/munge/munge.socket"
  launch munged "$DIR/munged.out" munged --foreground \
    --key-file="$DIR/munge/munge.key" --socket="$socket" \
    --pid-file="$DIR/munge/munged.pid" --seed-file="$DIR/munge/munged.seed"
  local deadline=$((SECONDS + 10))
  until [ -S "$socket" ]; do
    alive "$(tail -n 1 "$DIR/pids" | cut -d' ' -f1)" || die "munged exited at start"
    [ "$SECONDS" -lt "$deadline" ] || die "munged did not create its socket within 10 s"
    sleep 0.05
  done

  # slurm.conf
  local cpus mem_kb mem_mb ctld_port slurmd_port
  cpus=$(nproc)
  mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
  mem_mb=$(( mem_kb / 1024 * 9 / 10 ))
  ctld_port=$(free_port)
  slurmd_port=$(free_port)
  [ "$slurmd_port" != "$ctld_port" ] || slurmd_port=$((ctld_port + 2))
  cat >"$DIR/slurm.conf" <<EOF
# Generated by Scripts/slurm/local-cluster.sh: a one-node cluster on localhost.
ClusterName=collapse-local
SlurmctldHost=localhost
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$DIR/slurm.conf"

  launch slurmctld "$DIR/slurmctld.out" slurmctld -D -i -f "$SLURM_CONF"
  launch slurmd "$DIR/slurmd.out" slurmd -D -N localhost -f "$SLURM_CONF"

  deadline=$((SECONDS + 30))
  local state=""
  while true; do
    state=$(sinfo -h -N -n localhost -o '%T' 2>/dev/null | head -n 1 || true)
    [ "$state" = "idle" ] && break
    while read -r pid name; do
      alive "$pid" || die "$name (pid $pid) exited during start-up"
    done <"$DIR/pids"
    [ "$SECONDS" -lt "$deadline" ] || die "the node is not idle after 30 s (sinfo says '${state:-nothing}')"
    sleep 0.2
  done

  trap - EXIT INT TERM
  echo "export SLURM_CONF=$SLURM_CONF"
  echo "# one-node SLURM up in $((SECONDS - started)) s; daemons' pids in $DIR/pids; stop with: $0 down $DIR"
}

# ---------------------------------------------------------------- down

down() {
  local dir=${1:-}
  [ -n "$dir" ] || usage
  dir=${dir%/}
  [ -f "$dir/pids" ] && [ -f "$dir/slurm.conf" ] || die "$dir is not a directory made by '$PROG up' (no pids or slurm.conf)"
  # Cancel what is still queued or running on this private cluster, so no job outlives it.
  if command -v scancel >/dev/null 2>&1 && command -v squeue >/dev/null 2>&1; then
    local jobs
    jobs=$(SLURM_CONF="$dir/slurm.conf" squeue -h -o '%A' 2>/dev/null | sort -u | tr '\n' ' ' || true)
    if [ -n "${jobs// /}" ]; then
      # shellcheck disable=SC2086
      SLURM_CONF="$dir/slurm.conf" scancel $jobs 2>/dev/null || true
      local deadline=$((SECONDS + 10))
      while [ -n "$(SLURM_CONF="$dir/slurm.conf" squeue -h -o '%A' 2>/dev/null || true)" ] && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.2
      done
    fi
  fi
  stop_pids "$dir"
  rm -rf "$dir"
}

case "${1:-}" in
  up) shift; [ $# -eq 0 ] || usage; up ;;
  down) shift; [ $# -eq 1 ] || usage; down "$1" ;;
  *) usage ;;
esac
