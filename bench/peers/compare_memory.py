#!/usr/bin/env python3
"""Memory and start-up of N worker processes: minilm against ONNX Runtime, in the same run.

  HF_HUB_OFFLINE=1 python bench/peers/compare_memory.py --minilm-bin build/bench/micro/bench_embed \\
      [--model models/random-bert-xlmr] [--onnx models/onnx/random-bert-xlmr/model.onnx] \\
      [--processes 4] [--lines 0] [--warm-lines 200] [--hf-tokenizer transformers|file]

What a multi-worker server pays: N processes start at once, each loads the model folder and embeds
the corpus (tests/data/tokenizer/corpus.txt.gz, every line, or the first --lines), one thread
each, batches of 32. Each process then stays alive, model loaded, while this script reads its
/proc/<pid>/smaps_rollup (Rss, Pss) and, from /proc/<pid>/smaps, the Pss of the weights file's
mappings; then they exit. Pss divides every shared page among the processes that map it, so the
sum of the N processes' Pss is what the N of them cost the machine.

  minilm  bench/micro/bench_embed --hold (the C++ library: maps model.safetensors read-only; the
          250k-row embedding table is paged in only where the corpus's tokens land).
  ort     a Python process: Hugging Face tokenizers + ONNX Runtime on the model
          bench/peers/export_onnx.py wrote (the transformer + mean pooling [+ normalisation]),
          intra_op_num_threads=1, batches of 32 sorted by length and padded to the longest;
          RAYON_NUM_THREADS, OMP_NUM_THREADS and OPENBLAS_NUM_THREADS set to 1.
          Its figures include the Python interpreter and numpy (about 30 MB of Rss), which is how a
          Python service runs it. The tokenizer is, by default (--hf-tokenizer transformers), the
          tokenizers.Tokenizer that transformers' AutoTokenizer.from_pretrained(folder) builds (for
          an XLM-R folder: charsmap, WhitespaceSplit, Metaspace; what sentence-transformers feeds
          the model and what minilm follows), saved once by this script to a JSON file that each
          worker loads with Tokenizer.from_file; --hf-tokenizer file loads the folder's
          tokenizer.json as written (its ids can differ slightly, and so the embeddings).

Start-up, per process, page cache warm (the files are read once and every engine runs once
untimed, on --warm-lines lines, first): minilm's encoder::load() and load() + first embedding
(tokenizer included); for ort, the imports of tokenizers and onnxruntime (shown apart, not counted
in the rest), Tokenizer.from_file() alone, InferenceSession() alone, and tokenizer + session +
first embedding. Medians over the processes. Also the max |d| between the engines' embeddings of
the corpus (process 0 of each).
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')


def corpus(n_lines):
    with gzip.open(os.path.join(ROOT, 'tests', 'data', 'tokenizer', 'corpus.txt.gz'), 'rb') as f:
        raw = f.read().decode('utf-8')
    lines = raw[:-1].split('\n') if raw.endswith('\n') else raw.split('\n')
    return lines[:n_lines] if n_lines else lines


def read_texts(path):
    with open(path, 'rb') as f:
        return f.read().decode('utf-8').split('\n')


def ort_worker(args):
    """One ONNX Runtime process: load, embed every text, print JSON, wait for stdin to close."""
    t0 = time.perf_counter()
    import numpy as np
    from tokenizers import Tokenizer
    import onnxruntime as ort
    t_import = time.perf_counter()
    tok = Tokenizer.from_file(args.tokenizer)
    max_len = int(args.max_length)
    tok.enable_truncation(max_length=max_len)
    tok.no_padding()
    t_tok = time.perf_counter()
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(args.onnx, so, providers=['CPUExecutionProvider'])
    t_sess = time.perf_counter()
    pad_id = tok.token_to_id('<pad>')
    if pad_id is None:
        pad_id = tok.token_to_id('[PAD]') or 0

    def embed(texts):
        encs = tok.encode_batch([t.strip() for t in texts])
        n = max(len(e.ids) for e in encs)
        ids = np.full((len(encs), n), pad_id, dtype=np.int64)
        mask = np.zeros((len(encs), n), dtype=np.int64)
        for i, e in enumerate(encs):
            ids[i, :len(e.ids)] = e.ids
            mask[i, :len(e.ids)] = 1
        return sess.run(None, {'input_ids': ids, 'attention_mask': mask, 'token_type_ids': np.zeros_like(ids)})[0]

    texts = read_texts(args.texts)
    first = embed(texts[:1])
    t_first = time.perf_counter()
    out = np.zeros((len(texts), first.shape[1]), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    start = time.perf_counter()
    for b in range(0, len(order), 32):
        idx = order[b:b + 32]
        out[idx] = embed([texts[i] for i in idx])
    pass_ms = (time.perf_counter() - start) * 1e3
    out.tofile(args.embeddings)
    print(json.dumps({'import_ms': (t_import - t0) * 1e3, 'tokenizer_ms': (t_tok - t_import) * 1e3,
                      'session_ms': (t_sess - t_tok) * 1e3, 'first_ms': (t_first - t_import) * 1e3,
                      'times_ms': [pass_ms]}), flush=True)
    sys.stdin.read()


def memory(pid, weights_name):
    """Rss, Pss and Pss_Anon of the process, and the Pss of its mappings of the weights file (kB)."""
    fields = {}
    with open('/proc/%d/smaps_rollup' % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] in ('Rss:', 'Pss:', 'Pss_Anon:'):
                fields[parts[0][:-1].lower()] = int(parts[1])
    weights = 0
    in_target = False
    with open('/proc/%d/smaps' % pid) as f:
        for line in f:
            head = line.split()
            if head and '-' in head[0] and len(head) >= 5 and not head[0].endswith(':'):
                in_target = len(head) >= 6 and os.path.basename(head[-1]) == weights_name
            elif in_target and line.startswith('Pss:'):
                weights += int(head[1])
    fields['weights_pss'] = weights
    return fields


def run_engine(commands, weights_name, env=None):
    """Starts every command at once; once each has printed its JSON, reads its memory; then ends them."""
    procs = [subprocess.Popen(c, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
             for c in commands]
    results = []
    for p in procs:
        line = p.stdout.readline()
        if not line:
            p.wait()
            sys.exit('%s failed (exit %s)' % (' '.join(commands[0][:2]), p.returncode))
        results.append(json.loads(line))
    for p, r in zip(procs, results):
        r.update(memory(p.pid, weights_name))
    for p in procs:
        p.stdin.close()
        p.wait()
    return results


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--minilm-bin', default=os.path.join(ROOT, 'build', 'bench', 'micro', 'bench_embed'))
    ap.add_argument('--model', default=os.path.join(ROOT, 'models', 'random-bert-xlmr'))
    ap.add_argument('--onnx', default=None)
    ap.add_argument('--processes', type=int, default=4)
    ap.add_argument('--lines', type=int, default=0)
    ap.add_argument('--warm-lines', type=int, default=200,
                    help='lines the untimed warm-up process of each engine embeds (0: all)')
    ap.add_argument('--hf-tokenizer', choices=['transformers', 'file'], default='transformers')
    ap.add_argument('--tokenizer', help=argparse.SUPPRESS)
    ap.add_argument('--ort-worker', action='store_true')
    ap.add_argument('--texts')
    ap.add_argument('--embeddings')
    ap.add_argument('--max-length', default='512')
    return ap.parse_args()


def hf_tokenizer_file(args, model, tmp):
    """The tokenizer.json the ONNX Runtime workers load: the pipeline transformers builds, or the file."""
    if args.hf_tokenizer == 'transformers':
        from transformers import AutoTokenizer
        auto = AutoTokenizer.from_pretrained(model)
        backend = auto.backend_tokenizer if hasattr(auto, 'backend_tokenizer') else auto._tokenizer
        tokenizer_file = os.path.join(tmp, 'tokenizer.json')
        backend.save(tokenizer_file)
    else:
        tokenizer_file = os.path.join(model, 'tokenizer.json')
    return tokenizer_file


def minilm_cmds(args, model, tmp, k, texts_path):
    return [[args.minilm_bin, '--model', model, '--threads', '1', '--batch-size', '32', '--repetitions', '1',
             '--texts', texts_path, '--embeddings', os.path.join(tmp, 'minilm%d.f32' % i), '--hold']
            for i in range(k)]


def ort_cmds(model, onnx, max_length, tokenizer_file, tmp, k, texts_path):
    return [[sys.executable, os.path.abspath(__file__), '--ort-worker', '--model', model, '--onnx', onnx,
             '--texts', texts_path, '--max-length', max_length, '--tokenizer', tokenizer_file,
             '--embeddings', os.path.join(tmp, 'ort%d.f32' % i)] for i in range(k)]


def read_files(paths):
    for path in paths:
        with open(path, 'rb') as f:
            while f.read(1 << 24):
                pass


def print_tables(args, model, onnx, texts, n, minilm, ort, max_diff):
    weights_mb = os.path.getsize(os.path.join(model, 'model.safetensors')) / 1e6
    print('%s: %d lines of the corpus, %d processes at once, one thread each; weights file %.0f MB, '
          '%s %.0f MB; HF tokenizer: %s' % (os.path.basename(model), len(texts), n, weights_mb, os.path.basename(onnx),
                                            os.path.getsize(onnx) / 1e6, args.hf_tokenizer))
    print('| engine | Rss per process (MB) | Pss per process (MB) | Pss_Anon per process (MB) '
          '| Pss of the weights file, per process (MB) | total Pss, %d processes (MB) | corpus pass (s) |' % n)
    print('|---|---|---|---|---|---|---|')
    for name, rs in (('minilm', minilm), ('ONNX Runtime + HF tokenizers', ort)):
        med = lambda key: statistics.median(r[key] for r in rs) / 1e3  # noqa: E731
        print('| %s | %.0f | %.0f | %.0f | %.1f | %.0f | %.1f |' % (
            name, med('rss'), med('pss'), med('pss_anon'), med('weights_pss'), sum(r['pss'] for r in rs) / 1e3,
            statistics.median(r['times_ms'][0] for r in rs) / 1e3))
    print()
    print('Start-up, median over the %d processes (ms):' % n)
    print('| engine | imports | tokenizer load | model load | load to first embedding |')
    print('|---|---|---|---|---|')
    print('| minilm | - | (inside load) | %.1f | %.1f |' % (statistics.median(r['open_ms'] for r in minilm),
                                                          statistics.median(r['first_ms'] for r in minilm)))
    print('| ONNX Runtime + HF tokenizers | %.1f | %.1f | %.1f | %.1f |' % (
        statistics.median(r['import_ms'] for r in ort), statistics.median(r['tokenizer_ms'] for r in ort),
        statistics.median(r['session_ms'] for r in ort), statistics.median(r['first_ms'] for r in ort)))
    print('JSON: ' + json.dumps({'minilm': minilm, 'ort': ort}))
    print()
    print('max |d| between the engines over the corpus embeddings: %.2e' % max_diff)


def main():
    args = parse_args()
    if args.ort_worker:
        ort_worker(args)
        return
    model = os.path.abspath(args.model)
    onnx = args.onnx or os.path.join(os.path.dirname(model), 'onnx', os.path.basename(model), 'model.onnx')
    sbert = json.load(open(os.path.join(model, 'sentence_bert_config.json')))
    max_length = str(sbert.get('max_seq_length') or 512)
    texts = corpus(args.lines)
    import numpy as np
    if not os.path.exists(onnx):
        sys.exit('%s not found: run bench/peers/export_onnx.py --model %s first' % (onnx, args.model))
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = os.path.join(tmp, 'texts.txt')
        with open(texts_file, 'wb') as f:
            f.write('\n'.join(texts).encode('utf-8'))
        warm_file = os.path.join(tmp, 'warm.txt')
        with open(warm_file, 'wb') as f:
            f.write('\n'.join(texts[:args.warm_lines] if args.warm_lines else texts).encode('utf-8'))
        tokenizer_file = hf_tokenizer_file(args, model, tmp)
        n = args.processes
        ort_env = dict(os.environ, RAYON_NUM_THREADS='1', OMP_NUM_THREADS='1', OPENBLAS_NUM_THREADS='1',
                       TOKENIZERS_PARALLELISM='true')

        def minilm_run(k, texts_path):
            return run_engine(minilm_cmds(args, model, tmp, k, texts_path), 'model.safetensors')

        def ort_run(k, texts_path):
            return run_engine(ort_cmds(model, onnx, max_length, tokenizer_file, tmp, k, texts_path),
                              os.path.basename(onnx), ort_env)

        # Both engines start from a warm page cache: every file they read is read once, then one
        # untimed process of each embeds a few lines.
        read_files((os.path.join(model, 'model.safetensors'), os.path.join(model, 'tokenizer.json'), onnx,
                    tokenizer_file))
        minilm_run(1, warm_file)
        ort_run(1, warm_file)
        minilm = minilm_run(n, texts_file)
        ort = ort_run(n, texts_file)
        a = np.fromfile(os.path.join(tmp, 'minilm0.f32'), dtype=np.float32)
        b = np.fromfile(os.path.join(tmp, 'ort0.f32'), dtype=np.float32)
        max_diff = float(np.abs(a - b).max()) if a.size == b.size else float('nan')

    print_tables(args, model, onnx, texts, n, minilm, ort, max_diff)


if __name__ == '__main__':
    main()
