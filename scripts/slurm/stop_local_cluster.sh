#!/usr/bin/env bash
# Stop the local SLURM started by start_local_cluster.sh: slurmd, slurmctld, slurmdbd, MariaDB, munged.
# Only the daemons whose pid files are in the state dir ($NLP_TRANSFER_SLURM_DIR, default
# /tmp/nlp-transfer-slurm) are stopped. The state dir stays (pass --purge to delete it, database included).
set -uo pipefail

STATE_DIR="${NLP_TRANSFER_SLURM_DIR:-/tmp/nlp-transfer-slurm}"
RUN="$STATE_DIR/run"

stop_pid_file() {  # stop_pid_file <name> <pid file>: TERM, wait up to 10 s, then KILL
  local name=$1 file=$2 pid
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "[local-slurm] stopped $name ($pid)"
  fi
  rm -f "$file"
}

# the jobs still running end with slurmd; then the controller, accounting, database and munge
stop_pid_file slurmd "$RUN/slurmd.pid"
stop_pid_file slurmctld "$RUN/slurmctld.pid"
stop_pid_file slurmdbd "$RUN/slurmdbd.pid"
stop_pid_file mariadb "$RUN/mysqld.pid"
stop_pid_file munged "$RUN/munge/munged.pid"

if [[ ${1:-} == --purge ]]; then
  rm -rf "$STATE_DIR"
  echo "[local-slurm] removed $STATE_DIR"
fi
