# Run "$@" (the agent's command under `timeout`) with its stderr on its stdout, then end whatever
# it left in its process group.
#
# Run inside the container as `bash -c <this file> run timeout -s KILL SECONDS bash -c COMMAND`.
# One pipe for both streams keeps their order (docker's two pipes lose it). `timeout` leads its
# own process group, so whatever the command left behind in it (background jobs, a fork bomb)
# dies with the command; only a process that left the group on purpose (setsid) lives on.
# The wrapper's own stderr goes nowhere, or bash would report the killed job as output.
# Before forking, it checks (with builtins only) that the pids limit has room: when detached
# leftovers fill it, it prints the line below and exits 125, and the host sweeps them and runs
# the command again instead of a fork that would block until the deadline.
for f in /sys/fs/cgroup/pids/pids /sys/fs/cgroup/pids; do
  [ -r $f.current ] || continue
  read c < $f.current
  read m < $f.max
  [ "$m" != max ] && [ $((m - c)) -lt 4 ] && { echo "pilot: the process limit is full"; exit 125; }
  break
done
"$@" 2>&1 &
p=$!
exec 2>/dev/null
wait "$p"
rc=$?
n=0
while [ "$n" -lt 100 ] && kill -9 -- "-$p" 2>/dev/null; do n=$((n + 1)); done
exit "$rc"
