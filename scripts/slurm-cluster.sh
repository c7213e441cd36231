#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, for the tests and for trying hydra/launcher=slurm.
#
#   scripts/slurm-cluster.sh start    # munged, slurmctld, slurmd; waits until the node is idle
#   scripts/slurm-cluster.sh status   # sinfo, or exit 1 when the cluster is not up
#   scripts/slurm-cluster.sh stop     # stops the three daemons this script started (their PIDs only)
#   eval "$(scripts/slurm-cluster.sh env)"   # SLURM_CONF for sbatch/sinfo/squeue in this shell
#   scripts/slurm-cluster.sh dir      # the cluster's folder (made if there is none)
#
# Needs root and Debian's packages:  apt-get install -y slurmctld slurmd slurm-client munge
# Everything (config, munge key, state, spool, logs, PID files) lives in one folder private to the caller:
# made by mktemp -d (mode 0700) and recorded in $BRAINALIGN_SLURM_STATE (default
# ${XDG_RUNTIME_DIR:-~/.cache}/brainalign-slurm.dir) for the next command, or $BRAINALIGN_SLURM_DIR.
# A folder or state file that someone else owns, or that others may write, is refused: its munge key and
# slurm.conf would be theirs. Ports $BRAINALIGN_SLURM_PORT and +1 (default 6917, 6918).
# Accounting is off (no slurmdbd): brainalign's SLURM launcher then polls jobs with squeue, not sacct.
set -euo pipefail

STATE=${BRAINALIGN_SLURM_STATE:-${XDG_RUNTIME_DIR:-$HOME/.cache}/brainalign-slurm.dir}
PORT=${BRAINALIGN_SLURM_PORT:-6917}
CPUS=${BRAINALIGN_SLURM_CPUS:-8}   # slots, not cores: tiny jobs share the machine's cores
NODE=$(hostname -s)

# exit 1 unless $1 is ours, not a symbolic link, and not writable by group or others
check_private() {
  local owner mode
  if [[ -L $1 ]]; then echo "refusing $1: a symbolic link; remove it" >&2; exit 1; fi
  owner=$(stat -c %u -- "$1")
  mode=$(stat -c %a -- "$1")
  if [[ $owner != "$(id -u)" ]]; then
    echo "refusing $1: owned by uid $owner, not by you ($(id -u)); remove it or set BRAINALIGN_SLURM_DIR" >&2
    exit 1
  fi
  if ((8#$mode & 8#022)); then echo "refusing $1: group or others may write it (mode $mode)" >&2; exit 1; fi
}

# the cluster's folder: $BRAINALIGN_SLURM_DIR, else the one $STATE records; with $1 = create, a new private
# one when there is none. Prints nothing when there is none.
cluster_dir() {
  local dir=""
  if [[ -n ${BRAINALIGN_SLURM_DIR:-} ]]; then
    dir=$BRAINALIGN_SLURM_DIR
    [[ -e $dir || $1 != create ]] || mkdir -m 700 -- "$dir"   # no -p: fails if someone made it meanwhile
  elif [[ -e $STATE ]]; then
    check_private "$STATE"
    dir=$(cat -- "$STATE")
    [[ -d $dir ]] || dir=""   # removed since (a reboot cleans /tmp)
  fi
  if [[ -z $dir && $1 == create ]]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/brainalign-slurm.XXXXXX")
    mkdir -p -- "$(dirname -- "$STATE")"
    printf '%s\n' "$dir" >"$STATE.$$" && mv -f -- "$STATE.$$" "$STATE"
  fi
  if [[ -e $dir ]]; then check_private "$dir"; fi
  echo "$dir"
}

use_dir() {
  DIR=$(cluster_dir "$1")
  CONF=$DIR/slurm.conf
  SOCKET=$DIR/munge/munge.socket
}

# pid of a daemon named $2 from pid file $1, if it is alive and is ours (its command line names $DIR)
own_pid() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' </proc/"$pid"/cmdline | grep -q -- "$2.*$DIR" || return 1
  echo "$pid"
}

write_conf() {
  mkdir -p "$DIR"/{munge,state,spool,log}
  chmod 700 "$DIR/munge"
  [[ -s $DIR/munge/munge.key ]] || mungekey --create --keyfile="$DIR/munge/munge.key" >/dev/null
  chmod 600 "$DIR/munge/munge.key"
  : >"$DIR/plugstack.conf"
  cat >"$CONF" <<CONF
ClusterName=brainalign
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
PlugStackConfig=$DIR/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# no slurmdbd: no accounting, no job completion log, nothing for sacct to read
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmdParameters=config_overrides
KillWait=2
MinJobAge=600
InactiveLimit=0
SlurmctldTimeout=10
SlurmdTimeout=10
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=64000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

# no slurm.conf yet: not up (sinfo without one looks for a configless controller until the timeout)
up() { [[ -s $CONF ]] && SLURM_CONF=$CONF timeout 5 sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; }

start() {
  for cmd in munged mungekey slurmctld slurmd sinfo sbatch; do
    command -v "$cmd" >/dev/null || { echo "missing $cmd: apt-get install -y slurmctld slurmd slurm-client munge" >&2; exit 1; }
  done
  if up; then echo "slurm cluster already up ($CONF)"; return; fi
  write_conf
  own_pid "$DIR/munged.pid" munged >/dev/null || munged --force --socket="$SOCKET" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"
  own_pid "$DIR/slurmctld.pid" slurmctld >/dev/null || slurmctld -f "$CONF" -i
  own_pid "$DIR/slurmd.pid" slurmd >/dev/null || slurmd -f "$CONF"
  for _ in $(seq 60); do
    if up; then echo "slurm cluster up: partition debug, node $NODE ($CONF)"; return; fi
    sleep 0.5
  done
  echo "slurm cluster did not come up; logs in $DIR/log" >&2
  tail -5 "$DIR"/log/*.log >&2 || true
  exit 1
}

stop() {
  local name pid
  for name in slurmd slurmctld munged; do
    if pid=$(own_pid "$DIR/$name.pid" "$name"); then
      kill "$pid"
      for _ in $(seq 40); do [[ -d /proc/$pid ]] || break; sleep 0.25; done
      [[ -d /proc/$pid ]] && kill -9 "$pid"
      echo "stopped $name ($pid)"
    fi
    rm -f "$DIR/$name.pid"
  done
}

case ${1:-} in
  start) use_dir create; start ;;
  stop) use_dir find; [[ -z $DIR ]] || stop ;;
  status) use_dir find
    if [[ -n $DIR ]] && up; then SLURM_CONF=$CONF sinfo
    else echo "slurm cluster not up (${DIR:-no folder in $STATE})"; exit 1; fi ;;
  env) use_dir create; echo "export SLURM_CONF=$CONF" ;;
  dir) use_dir create; echo "$DIR" ;;
  *) echo "usage: $0 start|stop|status|env|dir" >&2; exit 2 ;;
esac
