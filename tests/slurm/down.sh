#!/usr/bin/env bash
# Stops the cluster tests/slurm/up.sh started (its jobs, slurmd, slurmctld, munged).
D=${GAN_SLURM_DIR:-/tmp/gan-slurm}
scancel --user="$(id -un)" 2>/dev/null || true
for f in slurmd slurmctld munged; do
    [ -f "$D/$f.pid" ] && kill "$(cat "$D/$f.pid")" 2>/dev/null || true
done
sleep 1
rm -rf "$D/state"
echo "slurm down"
