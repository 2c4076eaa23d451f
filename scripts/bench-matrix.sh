#!/usr/bin/env bash
# Runs the matrix-kernel benchmark matrix of issue 5 (docs/PERFORMANCE.md, "Matrix kernels") and prints a markdown
# table with llama.cpp's figures (../shared/PERF-ANCHORS.md) beside ours:
#   formats Q4_0 Q8_0 Q4_K Q6_K TQ2_0 GPTQ4-g128 AWQ4-g128  x  K = 4096, N = 4096 / 14336  x  batch 1 / 32  x  threads 1 / 2
#
# Usage: scripts/bench-matrix.sh [--seconds S] [--repeat R] [--formats "Q4_0 Q8_0 ..."] [--out DIR] [--no-build]
#        scripts/bench-matrix.sh --render DIR/results.jsonl [--formats ...]     (the table again from earlier runs)
#        scripts/bench-matrix.sh --skeleton
#   --seconds S   time budget per run (bench --seconds; default 1.5)
#   --repeat R    run every configuration R times and keep the worse run (lower weight GB/s); default 1
#   --out DIR     keep the raw JSON lines (results.jsonl) and stderr logs there (default: a temporary folder)
#   --render F    no runs: print the table from the JSON lines of an earlier run
#   --skeleton    no runs: the table with llama.cpp's figures only (the skeleton in docs/PERFORMANCE.md)
# Needs dotnet and python3. Runs of a format the build cannot run yet (GPTQ/AWQ before the repack factories land)
# show their error in the table instead of figures.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=1.5
repeat=1
formats="Q4_0 Q8_0 Q4_K Q6_K TQ2_0 GPTQ4-g128 AWQ4-g128"
out=""
build=1
skeleton=0
render=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --formats) formats="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --skeleton) skeleton=1; shift ;;
    --render) render="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -n "$render" ]]; then
  results="$render"
elif [[ $skeleton -eq 1 ]]; then
  results="$(mktemp -t kernelgen-bench-matrix-XXXXXX)"
  trap 'rm -f "$results"' EXIT
else
  if [[ -z "$out" ]]; then out="$(mktemp -d -t kernelgen-bench-matrix-XXXXXX)"; fi
  mkdir -p "$out"
  results="$out/results.jsonl"
  : > "$results"
  if [[ $build -eq 1 ]]; then
    dotnet build -c Release "$root/src/KernelGen.Cli" -v quiet -nologo >&2
  fi
  dll="$root/src/KernelGen.Cli/bin/Release/net10.0/kernelgen.dll"
  for format in $formats; do
    for n in 4096 14336; do
      for batch in 1 32; do
        for threads in 1 2; do
          op=matvec; [[ $batch -gt 1 ]] && op=matmul
          for ((r = 1; r <= repeat; r++)); do
            log="$out/${format}_${n}_${batch}_${threads}_${r}.log"
            echo "bench $op --format $format --k 4096 --n $n --batch $batch --threads $threads (run $r/$repeat)" >&2
            set +e
            line="$(dotnet "$dll" bench "$op" --format "$format" --k 4096 --n "$n" --batch "$batch" --threads "$threads" \
              --seconds "$seconds" --json 2> "$log" | tail -n 1)"
            rc=$?
            set -e
            if [[ $rc -eq 0 && "$line" == \{* ]]; then
              echo "$line" >> "$results"
            else
              python3 -c 'import json,sys; print(json.dumps({"format": sys.argv[1], "k": 4096, "n": int(sys.argv[2]), "batch": int(sys.argv[3]), "threads": int(sys.argv[4]), "error": sys.argv[5]}))' \
                "$format" "$n" "$batch" "$threads" "$(grep -m1 'error' "$log" || tail -n 1 "$log")" >> "$results"
            fi
          done
        done
      done
    done
  done
  echo "raw results: $results (scripts/bench-matrix.sh --render $results prints this table again)" >&2
fi

python3 - "$results" "$formats" <<'PY'
import json, sys

results_path, formats = sys.argv[1], sys.argv[2].split()

# llama.cpp on the KernelGen dev machine (../shared/PERF-ANCHORS.md, 2026-11-23), the better of its layouts.
# GPTQ / AWQ 4-bit g128 have no llama.cpp kernel: they are compared with Q4_K (repacked), the GGUF format of the
# same size class. B = 1: cold weights, µs per call and % of the in-process read bandwidth (1 thr 34.0, 2 thr 64.1
# GB/s). B = 32: ms per call and GFLOP/s (4 weight copies rotated).
WEIGHT_BYTES_4096 = {"Q4_0": 9437184, "Q8_0": 17825792, "Q4_K": 9437184, "Q6_K": 13762560, "TQ2_0": 4325376}
B1 = {  # (type, N): {threads: (layout, µs, GB/s, % bw)}
    ("Q4_0", 4096): {1: ("repack", 423, 22.3, 65), 2: ("repack", 230, 41.0, 64)},
    ("Q8_0", 4096): {1: ("plain", 698, 25.5, 75), 2: ("plain", 396, 45.0, 70)},
    ("Q4_K", 4096): {1: ("repack", 393, 24.0, 71), 2: ("repack", 212, 44.5, 69)},
    ("Q6_K", 4096): {1: ("plain", 505, 27.2, 80), 2: ("plain", 337, 40.8, 64)},
    ("TQ2_0", 4096): {1: ("plain", 275, 15.7, 46), 2: ("plain", 201, 21.5, 34)},
    ("Q4_0", 14336): {1: ("repack", 1602, 20.6, 61), 2: ("repack", 840, 39.3, 61)},
    ("Q8_0", 14336): {1: ("plain", 2400, 26.0, 76), 2: ("plain", 1384, 45.1, 70)},
    ("Q4_K", 14336): {1: ("repack", 1390, 23.8, 70), 2: ("repack", 740, 44.6, 70)},
    ("Q6_K", 14336): {1: ("plain", 1849, 26.1, 77), 2: ("plain", 1156, 41.7, 65)},
    ("TQ2_0", 14336): {1: ("plain", 1009, 15.0, 44), 2: ("plain", 759, 19.9, 31)},
}
B32 = {  # (type, N): {threads: (layout, ms, GFLOP/s)}
    ("Q4_0", 4096): {1: ("repack", 4.36, 247), 2: ("repack", 2.26, 476)},
    ("Q8_0", 4096): {1: ("plain", 9.20, 117), 2: ("plain", 6.17, 174)},
    ("Q4_K", 4096): {1: ("repack", 6.45, 166), 2: ("repack", 3.07, 350)},
    ("Q6_K", 4096): {1: ("plain", 16.61, 65), 2: ("plain", 8.13, 132)},
    ("TQ2_0", 4096): {1: ("plain", 9.27, 116), 2: ("plain", 4.96, 216)},
    ("Q4_0", 14336): {1: ("repack", 15.61, 241), 2: ("repack", 7.86, 478)},
    ("Q8_0", 14336): {1: ("plain", 45.57, 82), 2: ("plain", 20.74, 181)},
    ("Q4_K", 14336): {1: ("repack", 28.68, 131), 2: ("repack", 12.15, 309)},
    ("Q6_K", 14336): {1: ("plain", 57.09, 66), 2: ("plain", 27.92, 135)},
    ("TQ2_0", 14336): {1: ("plain", 32.01, 117), 2: ("plain", 17.68, 213)},
}

def anchor_type(fmt):
    return "Q4_K" if fmt.upper().startswith(("GPTQ", "AWQ")) else fmt

def llama(fmt, n, batch, threads):
    t = anchor_type(fmt)
    note = "" if t == fmt else f" (as {t})"
    if batch == 1 and (t, n) in B1:
        layout, us, gbps, pct = B1[(t, n)][threads]
        gflops = 2.0 * n * 4096 / (us * 1e-6) / 1e9
        return f"{layout}{note}", f"{us} µs", f"{gbps:.1f}", f"{gflops:.0f}", f"{pct}%"
    if batch == 32 and (t, n) in B32:
        layout, ms, gflops = B32[(t, n)][threads]
        gbps = WEIGHT_BYTES_4096[t] * n / 4096 / (ms * 1e-3) / 1e9
        return f"{layout}{note}", f"{ms} ms", f"{gbps:.1f}", f"{gflops}", "—"
    return "—", "—", "—", "—", "—"

def duration(s):
    return f"{s * 1e6:.0f} µs" if s < 1e-2 else f"{s * 1e3:.2f} ms"

runs = {}
with open(results_path) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        o = json.loads(line)
        key = (o["format"].upper(), o["n"], o["batch"], o["threads"])
        prev = runs.get(key)
        # Keep the worse run: an error beats nothing, a slower run beats a faster one.
        if prev is None or ("error" not in o and "error" not in prev and o["weight_gb_per_s"] < prev["weight_gb_per_s"]):
            runs[key] = o

def batch_gain(o):
    """Batch-32 GFLOP/s over our batch-1 GFLOP/s for the same format, N and threads (the issue's 3x target)."""
    one = runs.get((o["format"].upper(), o["n"], 1, o["threads"]))
    if o["batch"] == 1 or one is None or "error" in one:
        return ""
    return f"{o['gflop_per_s'] / one['gflop_per_s']:.1f}x"

def peak_share(o):
    """GFLOP/s over the int8 instruction ceiling measured in the same run (older runs did not measure it)."""
    return "" if o.get("compute_ratio") is None else f"{100 * o['compute_ratio']:.0f}% of {o['int8_peak_gop_per_s']:.0f}"

print("| format | N | batch | threads | ours: time/call | weight GB/s | GFLOP/s | x batch 1 | of int8 peak | read GB/s | % of read bw | max rel error "
      "| llama.cpp layout | time/call | weight GB/s | GFLOP/s | % of read bw |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
for fmt in formats:
    for n in (4096, 14336):
        for batch in (1, 32):
            for threads in (1, 2):
                o = runs.get((fmt.upper(), n, batch, threads))
                if o is None:
                    ours = ["—"] * 8
                elif "error" in o:
                    message = o["error"].removeprefix("error: ").removeprefix(o["format"] + ": ")
                    ours = ["n/a: " + message.replace("|", "/")[:80]] + [""] * 7
                else:
                    pct = f"{100 * o['bandwidth_ratio']:.0f}%" + ("" if o.get("weights_cold") else " (hot)")
                    ours = [duration(o["seconds_per_call"]), f"{o['weight_gb_per_s']:.1f}", f"{o['gflop_per_s']:.0f}",
                            batch_gain(o), peak_share(o), f"{o['memory_read_gb_per_s']:.1f}", pct, f"{o['max_rel_error']:.1e}"]
                label = fmt + (" (interleaved)" if o is not None and o.get("layout") == "interleaved8" else "")
                print("| " + " | ".join([label, str(n), str(batch), str(threads)] + ours + list(llama(fmt, n, batch, threads))) + " |")
PY
