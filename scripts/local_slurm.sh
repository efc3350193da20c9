#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine (Debian slurm-wlm + munge, as root, no systemd).
#
#   bash scripts/local_slurm.sh          # install if missing, configure, start; idempotent
#   bash scripts/local_slurm.sh stop     # stop the daemons
#
# CI (`.ci/run`) calls it before `make test`; the multi-process and sweep tests then submit real jobs
# with srun / sbatch / submitit. State, spool and logs live under $LM_SLURM_DIR (default /tmp/lm-slurm).
set -euo pipefail

STATE=${LM_SLURM_DIR:-/tmp/lm-slurm}
HOST=$(hostname)
CPUS=$(nproc)
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 85 / 100 ))

if [[ ${1:-start} == stop ]]; then
  for daemon in slurmd slurmctld munged; do
    pkill -x "$daemon" || true
    for _ in $(seq 60); do pgrep -x "$daemon" >/dev/null || break; sleep 0.5; done
  done
  exit 0
fi

if [[ $(id -u) != 0 ]]; then
  echo "local_slurm.sh: must run as root (slurmd runs jobs as their submitting user)." >&2
  exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "local_slurm.sh: installing slurm-wlm and munge with apt ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi

mkdir -p "$STATE"/{ctld,spool,log} /etc/slurm /etc/munge /run/munge /var/lib/munge /var/log/munge

# munge: one key, owned by whoever runs munged (root here).
if [[ ! -s /etc/munge/munge.key ]]; then
  head -c 1024 /dev/urandom > /etc/munge/munge.key
fi
chmod 400 /etc/munge/munge.key
chown -R root:root /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 700 /etc/munge /var/lib/munge /var/log/munge
chmod 755 /run/munge
if ! pgrep -x munged >/dev/null; then
  munged --force
fi

cat > /etc/slurm/slurm.conf <<CONF
# Written by scripts/local_slurm.sh: one node, every core; up to 4 jobs share a core (FORCE) so concurrent
# test jobs run side by side instead of queueing behind each other.
ClusterName=lm-local
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
# A requeued job waits cred_expire seconds before it may start again (default 120); 30 is still ample for a step
# to launch on one node, and keeps preemption tests from idling.
AuthInfo=cred_expire=30
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=30
MinJobAge=300
MaxArraySize=1001
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF

if ! pgrep -x slurmctld >/dev/null; then
  slurmctld
fi
if ! pgrep -x slurmd >/dev/null; then
  slurmd
fi

for _ in $(seq 60); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    sinfo
    exit 0
  fi
  sleep 1
done
echo "local_slurm.sh: the node did not become ready; see $STATE/log/" >&2
sinfo >&2 || true
for log in "$STATE"/log/*.log; do echo "== $log" >&2; tail -n 20 "$log" >&2; done
exit 1
