#!/usr/bin/env python3
"""minilm's tokenizer against Hugging Face tokenizers, in the same run, on the same corpus.

  HF_HUB_OFFLINE=1 python bench/peers/compare_tokenizer.py [--bench build/bench/micro/bench_tokenizer]
                   [--unigram] [--model DIR] [--repeats 5]

Tokenizers: all-MiniLM-L6-v2's WordPiece (models/all-MiniLM-L6-v2, truncation at 256), or with
--unigram multilingual-e5-small's SentencePiece Unigram (models/random-bert-xlmr, from
tools/setup/fetch_multilingual.sh; truncation at 512) and bench_tokenizer's BM_unigram_* cases.
Corpus: tests/data/tokenizer/corpus.txt.gz (every line, split on "\\n"). Both sides load the
model's tokenizer.json, truncate at the folder's max_seq_length and do not pad. Also timed: loading
the tokenizer (minilm's tokenizer::load, HF's Tokenizer.from_file). Timed, as medians of --repeats runs:
  - minilm encode(): bench_tokenizer's BM_encode_corpus (one encode() per line, one thread);
  - minilm encode_batch(): BM_encode_batch_packed/1024 (one thread);
  - HF single: Tokenizer.encode(line) per line from Python (one thread; Python's call cost is
    part of what a caller pays);
  - HF batch: Tokenizer.encode_batch(all lines) with RAYON_NUM_THREADS=1, and with the default
    thread pool (all cores), each in its own process.
With --unigram the HF side runs twice: on Tokenizer.from_file(tokenizer.json), the file as written
(Precompiled charsmap + Replace, Metaspace split), and on the tokenizers.Tokenizer that transformers'
AutoTokenizer.from_pretrained(folder) builds for XLMRobertaTokenizer (charsmap, WhitespaceSplit,
Metaspace): the pipeline sentence-transformers feeds the model, and the one minilm follows for such
a folder. The two can give slightly different ids; every side's token count is printed.
MB/s counts input UTF-8 bytes (10^6 per MB); tokens/s counts ids with [CLS] and [SEP].
Needs the `tokenizers` package.
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
ENGLISH_LINES = 9000  # the corpus opens with English fortunes (tools/goldens/make_tokenizer_corpus.py)


def corpus():
    with gzip.open(os.path.join(ROOT, 'tests', 'data', 'tokenizer', 'corpus.txt.gz'), 'rb') as f:
        raw = f.read().decode('utf-8')
    return raw[:-1].split('\n') if raw.endswith('\n') else raw.split('\n')


def max_length(model):
    sbert = json.load(open(os.path.join(model, 'sentence_bert_config.json')))
    return sbert.get('max_seq_length') or 512


def load_hf(model, pipeline):
    """A tokenizers.Tokenizer: the file as written, or as transformers' AutoTokenizer builds it."""
    if pipeline == 'transformers':
        from transformers import AutoTokenizer
        auto = AutoTokenizer.from_pretrained(model)
        return auto.backend_tokenizer if hasattr(auto, 'backend_tokenizer') else auto._tokenizer
    from tokenizers import Tokenizer
    return Tokenizer.from_file(os.path.join(model, 'tokenizer.json'))


def hf_worker(model, mode, repeats, pipeline):
    if mode == 'load':
        load_hf(model, pipeline)  # imports, page cache
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            load_hf(model, pipeline)
            times.append(time.perf_counter() - start)
        print(json.dumps({'seconds': statistics.median(times), 'tokens': 0}))
        return
    tok = load_hf(model, pipeline)
    tok.no_padding()
    tok.enable_truncation(max_length=max_length(model))
    lines = corpus()
    if mode == 'english':
        lines = lines[:ENGLISH_LINES]
    times = []
    tokens = 0
    for _ in range(repeats + 1):  # the first run warms up
        start = time.perf_counter()
        if mode in ('single', 'english'):
            encs = [tok.encode(line) for line in lines]
        else:
            encs = tok.encode_batch(lines)
        times.append(time.perf_counter() - start)
        tokens = sum(len(e.ids) for e in encs)
    print(json.dumps({'seconds': statistics.median(times[1:]), 'tokens': tokens}))


def run_hf(model, mode, repeats, threads, pipeline='file'):
    env = dict(os.environ)
    if threads:
        env['RAYON_NUM_THREADS'] = str(threads)
    else:
        env.pop('RAYON_NUM_THREADS', None)
    env['TOKENIZERS_PARALLELISM'] = 'true'
    out = subprocess.run([sys.executable, __file__, '--hf-worker', mode, '--model', model, '--repeats', str(repeats),
                          '--hf-pipeline', pipeline],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_minilm(bench, model, repeats, prefix):
    env = dict(os.environ, MINILM_SOURCE_ROOT=ROOT)
    if prefix:
        env['MINILM_MULTILINGUAL_DIR'] = os.path.dirname(os.path.abspath(model))
    else:
        env['MINILM_MODEL_DIR'] = model
    cases = ['BM_%s%s' % (prefix, c) for c in ('encode_corpus', 'encode_english', 'encode_batch_packed/1024', 'load')]
    out = subprocess.run([bench, '--benchmark_filter=^(%s)$' % '|'.join(cases),
                          '--benchmark_repetitions=%d' % repeats, '--benchmark_report_aggregates_only=true',
                          '--benchmark_format=json'], env=env, check=True, capture_output=True, text=True).stdout
    res = {}
    for b in json.loads(out)['benchmarks']:
        # With one repetition Google Benchmark reports the run itself and no aggregates.
        if b.get('aggregate_name') != 'median' and not (repeats == 1 and b.get('run_type') == 'iteration'):
            continue
        seconds = b['real_time'] / {'ms': 1e3, 'us': 1e6, 'ns': 1e9, 's': 1}[b['time_unit']]
        res[b['run_name'][len('BM_' + prefix):]] = {'seconds': seconds, 'tokens': b.get('tokens', 0)}
    return res


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bench', default=os.path.join(ROOT, 'build', 'bench', 'micro', 'bench_tokenizer'))
    ap.add_argument('--unigram', action='store_true')
    ap.add_argument('--model', default=None)
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--hf-worker', choices=['single', 'batch', 'english', 'load'])
    ap.add_argument('--hf-pipeline', choices=['file', 'transformers'], default='file')
    return ap.parse_args()


def run_hf_pipeline(model, repeats, pipeline):
    """Every HF case on one pipeline, each in its own process."""
    return {'single': run_hf(model, 'single', repeats, 1, pipeline),
            'batch1': run_hf(model, 'batch', repeats, 1, pipeline),
            'batch': run_hf(model, 'batch', repeats, 0, pipeline),
            'english': run_hf(model, 'english', repeats, 1, pipeline),
            'load': run_hf(model, 'load', repeats, 1, pipeline)}


def table(title, rows, n_bytes):
    print(title)
    print('| %-52s | %9s | %7s | %10s | %8s |' % ('', 'ms', 'MB/s', 'Mtokens/s', 'tokens'))
    print('|%s|%s|%s|%s|%s|' % ('-' * 54, '-' * 11, '-' * 9, '-' * 12, '-' * 10))
    for name, r in rows:
        print('| %-52s | %9.1f | %7.2f | %10.2f | %8d |' %
              (name, r['seconds'] * 1e3, n_bytes / r['seconds'] / 1e6, r['tokens'] / r['seconds'] / 1e6,
               r['tokens']))


def print_comparison(m, hf, pipelines):
    print('loading the tokenizer: minilm tokenizer::load %.1f ms' % (m['load']['seconds'] * 1e3) +
          ''.join(', %s %s %.1f ms' % (label, call, hf[p]['load']['seconds'] * 1e3) for p, label, call in pipelines))
    for p, label, _ in pipelines:
        tokens_equal = m['encode_corpus']['tokens'] == hf[p]['single']['tokens'] == hf[p]['batch']['tokens']
        print('%s: same number of tokens as minilm: %s (minilm %d, HF %d)' % (
            label, 'yes' if tokens_equal else 'NO', m['encode_corpus']['tokens'], hf[p]['single']['tokens']))
        r = hf[p]
        print('%s: ratio (minilm speed / HF speed): single %.2fx, batch vs HF 1 thread %.2fx, batch vs HF %d threads '
              '%.2fx, English single %.2fx, load %.2fx' % (
                  label, r['single']['seconds'] / m['encode_corpus']['seconds'],
                  r['batch1']['seconds'] / m['encode_batch_packed/1024']['seconds'], os.cpu_count(),
                  r['batch']['seconds'] / m['encode_batch_packed/1024']['seconds'],
                  r['english']['seconds'] / m['encode_english']['seconds'],
                  r['load']['seconds'] / m['load']['seconds']))


def main():
    args = parse_args()
    if args.model is None:
        args.model = os.path.join(ROOT, 'models', 'random-bert-xlmr' if args.unigram else 'all-MiniLM-L6-v2')
    if args.hf_worker:
        hf_worker(args.model, args.hf_worker, args.repeats, args.hf_pipeline)
        return
    lines = corpus()
    n_bytes = sum(len(l.encode('utf-8')) for l in lines)
    english_bytes = sum(len(l.encode('utf-8')) for l in lines[:ENGLISH_LINES])
    import tokenizers
    m = run_minilm(args.bench, args.model, args.repeats, 'unigram_' if args.unigram else '')
    rows = [('minilm encode() per line, 1 thread', m['encode_corpus']),
            ('minilm encode_batch(1024 lines), 1 thread', m['encode_batch_packed/1024'])]
    english_rows = [('minilm encode() per line, 1 thread', m['encode_english'])]
    # HF on the file as written; with --unigram also on the pipeline transformers builds.
    pipelines = [('file', 'HF tokenizers', 'Tokenizer.from_file')]
    if args.unigram:
        pipelines = [('file', 'HF (file)', 'Tokenizer.from_file'),
                     ('transformers', 'HF (transformers)', 'AutoTokenizer.from_pretrained')]
    hf = {}
    for pipeline, label, _ in pipelines:
        r = run_hf_pipeline(args.model, args.repeats, pipeline)
        hf[pipeline] = r
        rows.append(('%s encode() per line, 1 thread' % label, r['single']))
        rows.append(('%s encode_batch(all), 1 thread' % label, r['batch1']))
        rows.append(('%s encode_batch(all), %d threads' % (label, os.cpu_count()), r['batch']))
        english_rows.append(('%s encode() per line, 1 thread' % label, r['english']))

    print('%s; tokenizers %s; medians of %d runs' % (os.path.basename(os.path.abspath(args.model)),
                                                    tokenizers.__version__, args.repeats))
    table('whole corpus: %d lines, %.2f MB' % (len(lines), n_bytes / 1e6), rows, n_bytes)
    table('English fortunes only: %d lines, %.2f MB' % (ENGLISH_LINES, english_bytes / 1e6), english_rows,
          english_bytes)
    print_comparison(m, hf, pipelines)


if __name__ == '__main__':
    main()
