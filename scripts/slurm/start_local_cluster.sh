#!/usr/bin/env bash
# A real one-node SLURM on this machine, for the tests marked `slurm` and for trying the launchers.
#
#   sudo bash scripts/slurm/start_local_cluster.sh      # prints:  export SLURM_CONF=<state dir>/slurm.conf
#   bash scripts/slurm/stop_local_cluster.sh
#
# Installs (when missing, Debian/Ubuntu apt, needs root) slurmctld, slurmd, slurm-client, slurmdbd, munge
# and mariadb-server; writes slurm.conf and slurmdbd.conf into a state dir ($NLP_TRANSFER_SLURM_DIR,
# default /tmp/nlp-transfer-slurm); starts munged, MariaDB, slurmdbd, slurmctld and slurmd as background
# daemons (no systemd, no cgroups) and waits until the node is idle and `sacct` answers. Accounting is real
# (slurmdbd + MariaDB) because submitit asks `sacct` for the state of a finished job: without it, submitit
# waits forever on a job that died without writing its result.
# Idempotent: when the cluster of this state dir already answers, it only prints SLURM_CONF.
# Exit status 2: SLURM cannot be started here (not root and not installed); the reason is printed.
set -euo pipefail

STATE_DIR="${NLP_TRANSFER_SLURM_DIR:-/tmp/nlp-transfer-slurm}"
CONF="$STATE_DIR/slurm.conf"
CLUSTER_NAME="nlptransfer"
DB_PORT="${NLP_TRANSFER_SLURM_DB_PORT:-43306}"   # MariaDB on 127.0.0.1 only, off the default port
WAIT_S="${NLP_TRANSFER_SLURM_WAIT_S:-120}"
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
started=$EPOCHREALTIME

elapsed() { awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}'; }
say() { echo "[local-slurm] $*"; }
die() { echo "[local-slurm] ERROR: $*" >&2; exit "${2:-1}"; }

cluster_answers() {
  [[ -f "$CONF" ]] || return 1
  SLURM_CONF="$CONF" timeout 20 sinfo -h -N -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' || return 1
  SLURM_CONF="$CONF" timeout 20 sacct -n -X -S now-1minute >/dev/null 2>&1
}

if command -v sinfo >/dev/null && cluster_answers; then
  say "already running (state dir $STATE_DIR)"
  echo "export SLURM_CONF=$CONF"
  exit 0
fi

mkdir -p "$STATE_DIR"
# --- install ----------------------------------------------------------------------------------------------
missing=()
for bin in slurmctld slurmd sinfo slurmdbd munged mariadbd; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null || missing+=("$bin")
done
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]} and not root: install ${PACKAGES[*]} (apt) or run as root" 2
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install SLURM and munge by hand" 2
  say "installing ${PACKAGES[*]} (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy slurmctld 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    apt-get update -qq
  fi
  # policy-rc.d 101: the packages' postinst scripts must not start daemons; this script starts its own
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [[ -e $policy ]] && had_policy=1
  ((had_policy)) || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; }
  apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >"$STATE_DIR/apt.log" 2>&1 \
    || { ((had_policy)) || rm -f "$policy"; tail -20 "$STATE_DIR/apt.log"; die "apt-get install failed"; }
  ((had_policy)) || rm -f "$policy"
  say "installed in $(elapsed) s"
fi
[[ $(id -u) -eq 0 ]] || die "SLURM is installed but its daemons run as SlurmUser=root here: run this as root" 2
export PATH="$PATH:/usr/sbin:/sbin"

# --- configuration ----------------------------------------------------------------------------------------
mkdir -p "$STATE_DIR"/{ctld,spool,log,run,mysql}
node=$(hostname -s)
cpus=$(nproc)
mem_mib=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)   # 10% left to the OS
def_mem_per_cpu=$((mem_mib / cpus))   # a job without --mem takes its CPUs' share, not the whole node

cat >"$CONF" <<EOF
# One-node SLURM written by scripts/slurm/start_local_cluster.sh (no systemd, no cgroups).
ClusterName=$CLUSTER_NAME
SlurmctldHost=$node
SlurmUser=root
AuthType=auth/munge
# credentials expire after 5 s so a requeued job may start again within seconds (default 120 s)
AuthInfo=cred_expire=5
StateSaveLocation=$STATE_DIR/ctld
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/run/slurmctld.pid
SlurmdPidFile=$STATE_DIR/run/slurmd.pid
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$def_mem_per_cpu
SchedulerParameters=bf_interval=1,sched_interval=2
ReturnToService=2
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/none
NodeName=$node CPUs=$cpus RealMemory=$mem_mib State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

cat >"$STATE_DIR/slurmdbd.conf" <<EOF
# slurmdbd for the local cluster: job accounting in MariaDB, so sacct works as on real clusters.
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$STATE_DIR/run/slurmdbd.pid
LogFile=$STATE_DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
chmod 600 "$STATE_DIR/slurmdbd.conf"

# --- daemons ----------------------------------------------------------------------------------------------
running() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
launched=()   # the daemons this call started (stop_local_cluster.sh stops them all)

wait_for() {  # wait_for <what> <command...>: poll until the command succeeds or WAIT_S passes
  local what=$1; shift
  local deadline=$(($(date +%s) + WAIT_S))
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || die "$what not ready after ${WAIT_S}s; logs in $STATE_DIR/log"
    sleep 0.2
  done
}

# munge: the stock key and socket paths, which every SLURM command looks for
if [[ ! -s /etc/munge/munge.key ]]; then
  mkdir -p /etc/munge
  if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force
  else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
fi
munge_user=root
id munge >/dev/null 2>&1 && munge_user=munge
chown "$munge_user" /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge "$STATE_DIR/run/munge"
chown "$munge_user" /run/munge /var/lib/munge /var/log/munge "$STATE_DIR/run/munge"
if ! echo | munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  launched+=(munged)
  su -s /bin/sh "$munge_user" -c "munged --pid-file=$STATE_DIR/run/munge/munged.pid" 2>/dev/null \
    || munged --force --pid-file="$STATE_DIR/run/munge/munged.pid"
  wait_for munged sh -c 'munge -n | unmunge'
fi

# MariaDB: its own data dir in the state dir, TCP on 127.0.0.1 only
DB_SOCK="$STATE_DIR/run/mysqld.sock"
if ! running "$STATE_DIR/run/mysqld.pid"; then
  if [[ ! -d "$STATE_DIR/mysql/mysql" ]]; then
    mariadb-install-db --user=root --datadir="$STATE_DIR/mysql" --auth-root-authentication-method=socket \
      --skip-test-db >"$STATE_DIR/log/mariadb-install.log" 2>&1
  fi
  launched+=(mariadb)
  nohup setsid mariadbd --no-defaults --user=root --datadir="$STATE_DIR/mysql" --socket="$DB_SOCK" \
    --pid-file="$STATE_DIR/run/mysqld.pid" --bind-address=127.0.0.1 --port="$DB_PORT" \
    --innodb-buffer-pool-size=64M --log-error="$STATE_DIR/log/mariadb.log" </dev/null >/dev/null 2>&1 &
  wait_for MariaDB mariadb --no-defaults --socket="$DB_SOCK" -u root -e 'SELECT 1'
  mariadb --no-defaults --socket="$DB_SOCK" -u root -e "
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
fi

export SLURM_CONF="$CONF"
# slurmdbd reads slurmdbd.conf from the folder of $SLURM_CONF
running "$STATE_DIR/run/slurmdbd.pid" || { launched+=(slurmdbd); slurmdbd; }
wait_for slurmdbd sacctmgr -i list cluster
# register the cluster before slurmctld starts, so its first connection is accepted
sacctmgr -i list cluster format=cluster -n -P | grep -qx "$CLUSTER_NAME" || sacctmgr -i add cluster "$CLUSTER_NAME" >/dev/null
running "$STATE_DIR/run/slurmctld.pid" || { launched+=(slurmctld); slurmctld -f "$CONF"; }
wait_for slurmctld scontrol ping
running "$STATE_DIR/run/slurmd.pid" || { launched+=(slurmd); slurmd -f "$CONF"; }
wait_for "the node" sh -c "sinfo -h -N -o '%T' | grep -qE '^(idle|mixed|allocated)'"
wait_for sacct sacct -n -X -S now-1minute

say "node $node up: $cpus CPUs, ${mem_mib} MiB, DefMemPerCPU=$def_mem_per_cpu; state dir $STATE_DIR"
if ((${#launched[@]})); then say "started ${launched[*]} in $(elapsed) s"; else say "already running (state dir $STATE_DIR)"; fi
echo "export SLURM_CONF=$CONF"
