#!/usr/bin/env bash
# Create (or reuse) the Python virtual environment for the scikit-learn baseline.
#
#   bash benches/sklearn_setup.sh
#
# Idempotent: the venv is created only when missing, and pip is only called when
# numpy / scikit-learn are not importable yet. The venv lives in benches/.venv,
# which is git-ignored.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "creating venv at $venv"
    "$py" -m venv "$venv"
fi

if "$venv/bin/python" -c 'import numpy, sklearn' 2>/dev/null; then
    echo "numpy and scikit-learn already installed"
else
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet numpy scikit-learn
fi

"$venv/bin/python" -c 'import numpy, sklearn, sys; print("python", sys.version.split()[0], "numpy", numpy.__version__, "scikit-learn", sklearn.__version__)'
