# Check a commit out of a pack into the workspace, as the agent's user; the commit is the baseline.
#
# Run inside the container as `bash -c <this file> fill ROOT COMMIT NAME EMAIL EXCLUDE`, the pack
# on stdin: NAME and EMAIL are the workspace's committer, EXCLUDE goes to .git/info/exclude. Prints
# the baseline commit last.
#
# The host's own commit goes in as one pack, and a checkout writes the files and a stat-fresh
# index, so nothing is hashed twice and the commit itself is the baseline. Its parents are not
# there, so it is marked shallow. The run attributes hold during the checkout only, so the files
# are the committed bytes exactly, as `git archive` gives them to the tar path. NTFS's short names
# are no danger on this tmpfs, and the tar path takes a file named `git~1`.
set -e
root="$1" commit="$2" name="$3" email="$4" exclude="$5"
cd "$root"
git() { command git -c core.hooksPath=/dev/null -c core.autocrlf=false -c core.fsmonitor=false \
  -c core.symlinks=true -c core.protectNTFS=false "$@"; }
git -c init.defaultBranch=pilot-base init -q
git config user.name "$name"
git config user.email "$email"
git index-pack --stdin >/dev/null
printf '%s\n' "$commit" > .git/shallow
git update-ref refs/heads/pilot-base "$commit"
mkdir -p .git/info
printf '%s\n' "$exclude" > .git/info/exclude
echo '* -text -eol -ident -filter -working-tree-encoding' > .git/info/attributes
git read-tree --reset -u HEAD
rm .git/info/attributes
git rev-parse HEAD
