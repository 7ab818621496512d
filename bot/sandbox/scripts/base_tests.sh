# Run the test command with the session base's versions of the given test files, then put the
# agent's versions back: a change must pass the tests it was given, not tests it rewrote.
#
# Run in the workspace as `bash -c <this file> base_tests COMMAND PATH...`; exits as COMMAND did.
set -u
command="$1"
shift
base="$(git rev-list --max-parents=0 HEAD | tail -n 1)"
kept="$(mktemp -d)"
for path in "$@"; do
    if [ -e "$path" ]; then
        mkdir -p "$kept/$(dirname "$path")"
        cp -p "$path" "$kept/$path"
    fi
done
# One path at a time: a file the base lacks (an earlier requirement added it) fails its own
# checkout only, and stays as the agent left it.
for path in "$@"; do
    git checkout -q "$base" -- "$path" 2>/dev/null
done
bash -lc "$command"
code=$?
for path in "$@"; do
    if [ -e "$kept/$path" ]; then cp -p "$kept/$path" "$path"; else rm -f "$path"; fi
done
# `checkout <base> -- paths` staged the base's versions; the index goes back to HEAD's.
git reset -q -- "$@" 2>/dev/null
rm -rf "$kept"
exit "$code"
