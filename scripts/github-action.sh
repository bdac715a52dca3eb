#!/usr/bin/env bash
# The step of the GitHub Action (action.yml): install kerasfix from the action's own checkout (the ref
# the workflow names in `uses:`) into a virtual environment of its own, then run `kerasfix check` with
# workflow annotations, and first with SARIF output when asked.
#
# Reads what GitHub sets for a composite action's step: GITHUB_ACTION_PATH (the action's checkout),
# RUNNER_TEMP, GITHUB_OUTPUT; and the inputs that action.yml passes: INPUT_ARGS, INPUT_SARIF,
# INPUT_SARIF_FILE. Exits as `kerasfix check` does: 0 clean, 1 findings, 2 usage or configuration error.
set -euo pipefail

action_path=${GITHUB_ACTION_PATH:?"GITHUB_ACTION_PATH is not set: this script is run by action.yml"}
venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/kerasfix-action-venv"

echo "::group::Install kerasfix from ${action_path}"
# --system-site-packages: what the runner's Python already has (pip, and any of kerasfix's
# dependencies) is used as it is rather than fetched and installed again
python3 -m venv --without-pip --system-site-packages "$venv"
if ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    "$venv/bin/python" -m ensurepip --quiet
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$action_path"
"$venv/bin/kerasfix" --version
echo "::endgroup::"

# the paths and options, split on whitespace (no glob expansion)
read -r -a args <<< "${INPUT_ARGS:-.}"
if [ "${#args[@]}" -eq 0 ]; then
    args=(.)
fi

if [ "${INPUT_SARIF:-false}" = "true" ]; then
    sarif_file=${INPUT_SARIF_FILE:-kerasfix.sarif}
    status=0
    "$venv/bin/kerasfix" check "${args[@]}" --output-format sarif > "$sarif_file" || status=$?
    if [ "$status" -ge 2 ]; then
        rm -f "$sarif_file"  # no report to upload; kerasfix said why on stderr
        exit "$status"
    fi
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
        echo "sarif-file=${sarif_file}" >> "$GITHUB_OUTPUT"
    fi
fi

exec "$venv/bin/kerasfix" check "${args[@]}" --output-format github
