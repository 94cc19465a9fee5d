#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for tests/slurm.rs and the README's sweep timings:
# munged, slurmctld and slurmd started by hand (no systemd), state under $GAN_SLURM_DIR
# (default /tmp/gan-slurm), the configuration in /etc/slurm/slurm.conf. Needs root. Installs
# Debian's slurmctld, slurmd, slurm-client and munge when they are missing. Stop it with down.sh.
set -euo pipefail
D=${GAN_SLURM_DIR:-/tmp/gan-slurm}
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
fi
mkdir -p "$D"/state "$D"/spool /run/munge /etc/slurm
# munge: a key of its own if the package made none; munged as root (--force: no munge user needed)
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
chmod 0400 /etc/munge/munge.key
if ! pgrep -x munged >/dev/null; then
    munged --force --pid-file="$D/munged.pid" --socket=/run/munge/munge.socket.2 --log-file="$D/munged.log"
fi
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=gan
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# the default 120 s makes a requeued task wait over two minutes
AuthInfo=cred_expire=10
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
KillWait=10
MinJobAge=300
NodeName=gan-node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=gan Nodes=gan-node Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd -N gan-node
for _ in $(seq 1 60); do
    if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
        echo "slurm up: $(sinfo -h -o '%P %D %T %c')"
        exit 0
    fi
    sleep 0.5
done
echo "slurm did not come up; logs in $D" >&2
tail -n 20 "$D"/slurmctld.log "$D"/slurmd.log >&2 || true
exit 1
