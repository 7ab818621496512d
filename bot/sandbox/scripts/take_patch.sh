# Print a binary patch of the workspace since BASE and commit the workspace as the next baseline.
#
# Run inside the container as `bash -c <this file> take_patch ROOT BASE NAME EMAIL`, as the
# agent's user. The patch goes to stdout; stderr ends with `PILOT-BASELINE <commit>`, the new
# baseline. Exits 90 when BASE is gone (the agent rewrote .git).
set -e
root="$1" base="$2" name="$3" email="$4"
cd "$root"
# `-c` options override whatever the agent put in .git/config, so the patch keeps a fixed shape.
git() { command git -c core.hooksPath=/dev/null -c core.fsmonitor=false -c core.autocrlf=false \
  -c user.name="$name" -c user.email="$email" -c commit.gpgsign=false "$@"; }
git cat-file -e "$base^{commit}" || { echo "baseline commit $base is gone" >&2; exit 90; }
git add -A
git diff --cached --binary --full-index --no-color --no-ext-diff --no-textconv \
  --src-prefix=a/ --dst-prefix=b/ "$base" --
git diff --cached --quiet HEAD -- || git commit -q --no-verify -m 'pilot: checkpoint'
echo "PILOT-BASELINE $(git rev-parse HEAD)" >&2
