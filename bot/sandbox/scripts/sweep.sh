# Kill every process of the agent's user, daemonised ones included, and list any still there.
#
# Run inside the container as `bash -c <this file>`, as the agent's user: `kill -9 -1` reaches
# every process that user may signal, which is all of its own. The pids it prints are the ones
# not gone yet; the host runs it again until it prints none. Never run it outside a container.
kill -9 -1 2>/dev/null
for d in /proc/[0-9]*; do
  p="${d#/proc/}"
  [ "$p" = "$$" ] && continue
  [ -O "$d" ] && echo "$p"
done
exit 0
