# Sourced by scripts/serve and scripts/test: make .venv match the lock file.
# Needs only python3 (>= 3.11) with its standard venv module.
# Usage: bootstrap <requirements/lock-file>
set -euo pipefail

bootstrap() {
    local lock="$1"
    local python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "Keel needs Python >= 3.11; point PYTHON at one (PYTHON=python3.12 $0)." >&2
        exit 1
    fi
    if [ ! -x .venv/bin/python ]; then
        "$python" -m venv .venv
    fi
    local stamp=".venv/.installed-$(basename "$lock")"
    local want
    local projects=(packages/keel-db .)
    # The test locks (dev, and bench, which includes it) also hold examples/tortoise:
    # Keel's task tests run against it too.
    if grep -q '^tortoise-orm==' "$lock"; then
        projects+=(examples/tortoise)
    fi
    want="$(cat "$lock" pyproject.toml packages/keel-db/pyproject.toml examples/tortoise/pyproject.toml | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "Installing locked dependencies from $lock ..." >&2
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
        # The lock holds every dependency of these; they are this checkout.
        local editable=()
        for project in "${projects[@]}"; do
            editable+=(-e "$project")
        done
        .venv/bin/python -m pip install --quiet --no-deps "${editable[@]}"
        echo "$want" > "$stamp"
    fi
    export PATH="$PWD/.venv/bin:$PATH"
}
