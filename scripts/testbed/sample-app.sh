# shellcheck shell=bash
# The sample application's git repository (built from testbed/sample-app/ with one tag
# per release) and the git daemon that serves it to the hosts.

TB_GIT_DIR="$TB_CACHE/git"
TB_SAMPLE_REPO="$TB_GIT_DIR/sample-app.git"
TB_SAMPLE_SRC="$TB_FILES/sample-app"

# The sources and this recipe: a change to either rebuilds the repository.
sample_src_stamp() {
  {
    (cd "$TB_SAMPLE_SRC" && find . -name __pycache__ -prune -o -type f -print0 | sort -z | xargs -0 sha256sum)
    sha256sum <"${BASH_SOURCE[0]}"
  } | sha256sum | cut -c1-16
}

ensure_sample_repo() {
  local stamp
  stamp=$(sample_src_stamp)
  if [[ -f "$TB_SAMPLE_REPO/testbed-stamp" && "$(<"$TB_SAMPLE_REPO/testbed-stamp")" == "$stamp" ]]; then
    return 0
  fi
  log "building the sample app's git repository (tags from $TB_SAMPLE_SRC/releases.txt)"
  local work
  work=$(mktemp -d)
  # Fixed identities and dates, and no user or system git config: the same commit ids on
  # every machine, so tests may name them.
  # A separate bash, so its -e holds although its failure is handled here.
  bash -euo pipefail -c '
    src=$1 work=$2 n=0
    export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
    export GIT_AUTHOR_NAME="Sample App" GIT_AUTHOR_EMAIL="dev@app.local.test"
    export GIT_COMMITTER_NAME="Sample App" GIT_COMMITTER_EMAIL="dev@app.local.test"
    cd "$work"
    git init -q -b main tree
    cd tree
    while read -r tag parent branch message; do
      [[ -z "$tag" || "$tag" == \#* ]] && continue
      n=$((n + 1))
      day=$(printf "2025-01-%02dT10:00:00Z" "$n")
      export GIT_AUTHOR_DATE="$day" GIT_COMMITTER_DATE="$day"
      if [[ "$parent" == "-" ]]; then
        cp -a "$src/base/." .
      else
        git checkout -q --detach "$parent"
        cp -a "$src/releases/$tag/." .
      fi
      # Rebuilt from content: a copied file may keep the size and mtime the index knows.
      rm -f .git/index
      git add -A
      git commit -q -m "$message"
      git tag -a "$tag" -m "Release $tag"
      if [[ "$branch" != "-" ]]; then git update-ref "refs/heads/$branch" HEAD; fi
    done <"$src/releases.txt"
    git checkout -q main
    git clone -q --bare "$work/tree" "$work/sample-app.git"
    git -C "$work/sample-app.git" remote remove origin
  ' _ "$TB_SAMPLE_SRC" "$work" || { rm -rf "$work"; die "could not build the sample app repository"; }
  echo "$stamp" >"$work/sample-app.git/testbed-stamp"
  mkdir -p "$TB_GIT_DIR"
  rm -rf "$TB_SAMPLE_REPO"
  mv "$work/sample-app.git" "$TB_SAMPLE_REPO"
  rm -rf "$work"
  git -C "$TB_SAMPLE_REPO" for-each-ref --format='  %(refname:short) -> commit %(*objectname)' refs/tags >&2
}

ensure_git_daemon() {
  if pid_alive "$TB_STATE/pids/git-daemon.pid" git-daemon; then return 0; fi
  log "starting git daemon (git://$TB_GATEWAY/sample-app.git)"
  # Read-only (upload-pack only, the default) and only on the bridge address.
  start_daemon git-daemon "$(git --exec-path)/git-daemon" --reuseaddr \
    --listen="$TB_GATEWAY" --port="$TB_GIT_PORT" --base-path="$TB_GIT_DIR" --export-all \
    "$TB_GIT_DIR"
}

stop_git_daemon() { stop_pidfile "$TB_STATE/pids/git-daemon.pid" git-daemon git-daemon; }
