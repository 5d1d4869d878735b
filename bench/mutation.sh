#!/usr/bin/env bash
# Mutation testing of the core (issue 10); see bench/mutation.py.  Not part of `make test`.
#   bash bench/mutation.sh [--postgres | --score]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/mutmut ] || .venv/bin/pip install -q -r requirements-mutation.txt
exec .venv/bin/python bench/mutation.py "$@"
