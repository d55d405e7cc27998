#!/usr/bin/env bash
# Creates benchmarks/.venv-checkov, a virtualenv of its own holding Checkov, for
# benchmarks/throughput.py to compare against. Checkov pins many packages that
# would clash with ours, so it never goes into the project's .venv.
#
#   bash benchmarks/setup-checkov.sh            # latest Checkov
#   CHECKOV_VERSION=3.2.0 bash benchmarks/setup-checkov.sh
#   PYTHON=python3.12 bash benchmarks/setup-checkov.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-checkov"
python="${PYTHON:-python3}"
spec="checkov${CHECKOV_VERSION:+==$CHECKOV_VERSION}"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "$spec"

echo "Checkov $("$venv/bin/checkov" --version) installed in $venv"
