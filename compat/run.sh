#!/usr/bin/env bash
# The SDK compatibility suites: the official Descope SDKs, unchanged, against `ak serve`.
#
#   compat/run.sh            # build ak, install the pinned SDKs, run all four suites
#   compat/run.sh console    # only the named suites (python, node, schemathesis, console)
#
# 1. builds the `ak` binary (cargo build -p ak-cli; set AK_BIN to test another binary instead);
# 2. installs compat/python/requirements.txt (descope, pytest, schemathesis; every package pinned
#    with hashes) into compat/python/.venv, and compat/node/package-lock.json with `npm ci`,
#    each only when missing or older than its lock file, and compat/console/package-lock.json
#    (playwright-core, axe-core) the same way;
# 3. runs the Python SDK suite (pytest; sync and async clients), the Node SDK suite (node --test),
#    schemathesis against /openapi.json, and the console suite (node --test driving headless
#    Chromium, $CHROMIUM or /usr/bin/chromium, through playwright-core; screenshots in
#    target/console-screenshots/). Each starts its own `ak serve` on a free port over a
#    temporary SQLite store (compat/python/akserver.py, compat/node/harness.mjs,
#    compat/console/harness.mjs).
#
# It runs every suite even when one fails, prints a summary line, and exits non-zero if any
# failed. Server logs go to compat/.logs/ (AK_COMPAT_LOGS); AK_COMPAT_KEEP=1 keeps the stores.
# Needs: python3 with the venv module, node >= 20 with npm, cargo, and for the console suite
# Debian's chromium package.
set -euo pipefail

suites="${*:-python node schemathesis console}"
want() { case " $suites " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

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
if { want python || want schemathesis; } && { [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.installed" ] || [ "$py/requirements.txt" -nt "$venv/.installed" ]; }; then
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
npm_ci() {  # npm_ci DIR: when its node_modules is missing or older than its lock file
    if [ ! -f "$1/node_modules/.package-lock.json" ] \
        || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
        step "npm ci in ${1#"$root/"}"
        (cd "$1" && npm ci --no-audit --no-fund)
    fi
}
want node && npm_ci "$node_dir"
want console && npm_ci "$here/console"

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

if want python; then
step "Python SDK (descope $("$venv/bin/python" -c 'from importlib.metadata import version; print(version("descope"))'), sync and async clients): pytest"
set +e
# pytest exits 5 when it collects no test: that counts as a failure here, like any non-zero.
(cd "$py" && "$venv/bin/python" -m pytest -v)
record python $?
fi

if want node; then
step "Node SDK (@descope/node-sdk $(cd "$node_dir" && node -p 'require("./node_modules/@descope/node-sdk/package.json").version')): node --test"
(cd "$node_dir" && node --test --test-concurrency=1 test/)
record node $?
fi

if want schemathesis; then
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
fi

if want console; then
step "console in headless Chromium (playwright-core $(cd "$here/console" && node -p 'require("./node_modules/playwright-core/package.json").version')): node --test"
(cd "$here/console" && node --test --test-concurrency=1 test/)
record console $?
fi
set -e

step "done in $((SECONDS - started)) s; server logs in $AK_COMPAT_LOGS"
# Counts of suites, not tests (each runner printed its own closing counts above), so this line is
# deliberately not in the bare "N passed, N failed" form that would read as a test count.
echo "compat suites ($suites): $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then
    echo "compat: failed suites:$failures" >&2
    exit 1
fi
