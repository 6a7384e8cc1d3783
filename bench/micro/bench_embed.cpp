// bench_embed: times minilm on a file of texts for bench/peers/compare.py (its "MINILM INTERFACE").
//
//   bench_embed --model DIR --threads T --batch-size B --repetitions R --texts FILE --embeddings OUT [--hold]
//
// FILE holds UTF-8 texts split on "\n" only (so an empty line is an empty text). After loading
// the model and one untimed pass, R timed passes each embed every text in order, B texts per
// encode() call, reusing one workspace. The last pass's embeddings go to OUT as raw little-endian
// float32 (n_texts x dimension); stdout gets one JSON object:
//   {"times_ms": [...], "open_ms": load time, "first_ms": load + first text's embedding,
//    "first_cpu_ms": the processor time (user + system) the process had used by then, from exec,
//    "peak_rss_kb": peak resident set (VmHWM) at exit}
// open_ms and first_ms are those of a fresh process: bench/peers/fresh_start.py runs it many times with
// --repetitions 0 and prints their medians. On a busy machine first_cpu_ms moves less than
// first_ms.
// With --hold the process then waits, model loaded, until its stdin is closed, so that a caller
// can read its memory from /proc (bench/peers/compare_memory.py).

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <minilm/encoder.hpp>

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The processor time (user + system) this process has used so far, ms.
double cpu_ms() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return 1e3 * double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         1e-3 * double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

// The process's peak resident set, kB: VmHWM of /proc/self/status, which starts afresh at exec
// (getrusage's ru_maxrss would carry the peak of a parent that forked this process).
long peak_rss_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: bench_embed --model DIR --threads T --batch-size B --repetitions R --texts FILE "
               "--embeddings OUT [--hold]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) try {
  std::string model, texts_path, out_path;
  std::size_t threads = 1, batch = 32, reps = 5;
  bool hold = false;
  for (int i = 1; i < argc; i += 2) {
    const std::string_view key = argv[i];
    if (key == "--hold") {
      hold = true;
      --i;
      continue;
    }
    if (i + 1 == argc) usage();
    const char* value = argv[i + 1];
    if (key == "--model") model = value;
    else if (key == "--threads") threads = std::strtoul(value, nullptr, 10);
    else if (key == "--batch-size") batch = std::strtoul(value, nullptr, 10);
    else if (key == "--repetitions") reps = std::strtoul(value, nullptr, 10);
    else if (key == "--texts") texts_path = value;
    else if (key == "--embeddings") out_path = value;
    else usage();
  }
  if (model.empty() || texts_path.empty() || out_path.empty() || batch == 0) usage();

  std::ifstream in(texts_path, std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string_view> texts;
  for (std::size_t start = 0;;) {
    const std::size_t end = all.find('\n', start);
    texts.emplace_back(std::string_view(all).substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }

  const auto t_open = std::chrono::steady_clock::now();
  minilm::encoder_options options;
  options.n_threads = threads;
  const minilm::encoder encoder = minilm::encoder::load(model, options);
  const double open_ms = ms_since(t_open);
  minilm::workspace ws;
  const std::vector<std::string_view> first(texts.begin(), texts.begin() + 1);
  (void)encoder.encode(first, {.scratch = &ws});
  const double first_ms = ms_since(t_open);
  const double first_cpu_ms = cpu_ms();

  const std::size_t dim = encoder.dimension();
  std::vector<float> out(texts.size() * dim);
  auto pass = [&] {
    for (std::size_t b = 0; b < texts.size(); b += batch) {
      const std::span<const std::string_view> chunk(texts.data() + b, std::min(batch, texts.size() - b));
      const minilm::embeddings e = encoder.encode(chunk, {.scratch = &ws});
      std::copy(e.values.begin(), e.values.end(), out.begin() + static_cast<std::ptrdiff_t>(b * dim));
    }
  };
  pass();  // warm-up
  std::ostringstream json;
  json << "{\"times_ms\": [";
  for (std::size_t r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    pass();
    json << (r ? ", " : "") << ms_since(t0);
  }
  json << "], \"open_ms\": " << open_ms << ", \"first_ms\": " << first_ms << ", \"first_cpu_ms\": " << first_cpu_ms
       << ", \"peak_rss_kb\": " << peak_rss_kb()
       << "}";
  std::ofstream(out_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(out.data()), static_cast<std::streamsize>(out.size() * sizeof(float)));
  std::puts(json.str().c_str());
  std::fflush(stdout);
  if (hold) {
    while (std::fgetc(stdin) != EOF) {
    }
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_embed: %s\n", e.what());
  return 1;
}
