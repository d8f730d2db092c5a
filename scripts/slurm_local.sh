#!/usr/bin/env bash
# Start a single-node SLURM cluster on localhost (Debian slurm-wlm + munge), idempotently.
# Exits 0 once `sinfo` answers; otherwise non-zero with the reason on stderr.
# Needs root (it installs packages and writes /etc/slurm, /etc/munge).
set -uo pipefail

fail() { echo "slurm_local: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root to install and start slurmctld/slurmd"

if sinfo >/dev/null 2>&1 && [ -n "$(sinfo -h -o %n 2>/dev/null)" ]; then
    echo "slurm_local: cluster already answers sinfo"
    exit 0
fi

if ! command -v slurmd >/dev/null || ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || fail "slurm-wlm is not installed and apt-get is unavailable"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || fail "apt-get update failed"
    apt-get install -y -qq slurm-wlm munge >/dev/null || fail "apt-get install slurm-wlm munge failed"
fi

host=$(hostname -s)
cpus=$(nproc)

# munge: a random key readable only by the munge user.
install -d -o munge -g munge -m 700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- munged --force || munged --force || fail "munged did not start"
    sleep 1
fi

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
conf=/etc/slurm/slurm.conf
# MinJobAge keeps finished jobs visible to squeue/scontrol: there is no accounting database.
cat > "$conf.new" <<CONF
ClusterName=local
SlurmctldHost=${host}
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=3600
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldDebug=info
NodeName=${host} CPUs=${cpus} RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
mv "$conf.new" "$conf"

pgrep -x slurmctld >/dev/null || slurmctld || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
pgrep -x slurmd >/dev/null || slurmd || fail "slurmd did not start (see /var/log/slurm/slurmd.log)"

for _ in $(seq 1 30); do
    state=$(sinfo -h -o %t 2>/dev/null | head -n1)
    case "$state" in
        idle*|mix*|alloc*) echo "slurm_local: node ${host} is ${state}"; exit 0 ;;
        down*|drain*) scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 ;;
    esac
    sleep 1
done
fail "sinfo does not report an idle node (state: ${state:-none}); see /var/log/slurm/"
