#!/usr/bin/env bash
# The SDK compatibility suites: the official Descope SDKs, unchanged, against `ak serve`.
#
#   compat/run.sh            # build ak, install the pinned SDKs, run all three suites
#
# 1. builds the `ak` binary (cargo build -p ak-cli; set AK_BIN to test another binary instead);
# 2. installs compat/python/requirements.txt (descope, pytest, schemathesis; every package pinned
#    with hashes) into compat/python/.venv, and compat/node/package-lock.json with `npm ci`,
#    each only when missing or older than its lock file;
# 3. runs the Python SDK suite (pytest; sync and async clients), the Node SDK suite (node --test)
#    and schemathesis against /openapi.json. Each starts its own `ak serve` on a free port over a
#    temporary SQLite store (compat/python/akserver.py, compat/node/harness.mjs).
#
# It runs every suite even when one fails, prints a summary line, and exits non-zero if any
# failed. Server logs go to compat/.logs/ (AK_COMPAT_LOGS); AK_COMPAT_KEEP=1 keeps the stores.
# Needs: python3 with the venv module, node >= 20 with npm, cargo.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
py="$here/python"
node_dir="$here/node"

step() { printf '\n--- compat: %s\n' "$*"; }

# --- 1. the ak binary ------------------------------------------------------------------------
if [ -z "${AK_BIN:-}" ]; then
    step "building ak (cargo build -p ak-cli)"
    if command -v flock >/dev/null 2>&1; then
        (cd "$root" && flock /tmp/ak-cargo.lock cargo build -p ak-cli --locked)
    else
        (cd "$root" && cargo build -p ak-cli --locked)
    fi
    AK_BIN="$root/target/debug/ak"
fi
export AK_BIN
export AK_COMPAT_LOGS="${AK_COMPAT_LOGS:-$here/.logs}"
rm -rf "$AK_COMPAT_LOGS"
mkdir -p "$AK_COMPAT_LOGS"

# --- 2. the SDKs ------------------------------------------------------------------------------
venv="$py/.venv"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.installed" ] || [ "$py/requirements.txt" -nt "$venv/.installed" ]; then
    step "installing compat/python/requirements.txt into compat/python/.venv"
    rm -rf "$venv"
    if ! python3 -m venv "$venv"; then
        echo "compat: 'python3 -m venv' failed; on Debian install python3-venv" >&2
        exit 1
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
        -r "$py/requirements.txt"
    "$venv/bin/python" -m pip check
    touch "$venv/.installed"
fi
if [ ! -f "$node_dir/node_modules/.package-lock.json" ] \
    || [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
    step "npm ci in compat/node"
    (cd "$node_dir" && npm ci --no-audit --no-fund)
fi

# --- 3. the suites ----------------------------------------------------------------------------
passed=0
failed=0
failures=""
record() {  # record NAME STATUS
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures="$failures $1"
    fi
}
started=$SECONDS

step "Python SDK (descope $("$venv/bin/python" -c 'from importlib.metadata import version; print(version("descope"))'), sync and async clients): pytest"
set +e
# pytest exits 5 when it collects no test: that counts as a failure here, like any non-zero.
(cd "$py" && "$venv/bin/python" -m pytest -v)
record python $?

step "Node SDK (@descope/node-sdk $(cd "$node_dir" && node -p 'require("./node_modules/@descope/node-sdk/package.json").version')): node --test"
(cd "$node_dir" && node --test --test-concurrency=1 test/)
record node $?

step "schemathesis against /openapi.json (seeded, bounded)"
# Deterministic and bounded: a fixed seed, no example database carried between runs, one worker,
# at most 50 generated cases per operation in the fuzzing phase, and no stateful phase (the
# document has no links). Checks: no 5xx; status, content type, headers and body as documented;
# operations that declare auth refuse requests without it (ignored_auth); undocumented methods
# get 405 (unsupported_method).
(cd "$py" && AK_COMPAT_NAME=schemathesis "$venv/bin/python" akserver.py -- \
    "$venv/bin/schemathesis" --config-file "$here/schemathesis.toml" run '$AK_URL/openapi.json' \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,ignored_auth,unsupported_method \
    --phases examples,coverage,fuzzing \
    --seed 20261201 --generation-database none --workers 1 --max-examples 50 \
    --request-timeout 10 --no-color \
    --report junit --report-dir "$AK_COMPAT_LOGS/schemathesis-report")
record schemathesis $?
set -e

step "done in $((SECONDS - started)) s; server logs in $AK_COMPAT_LOGS"
# Counts of suites, not tests (each runner printed its own closing counts above), so this line is
# deliberately not in the bare "N passed, N failed" form that would read as a test count.
echo "compat suites (python, node, schemathesis): $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    echo "compat: failed suites:$failures" >&2
    exit 1
fi
