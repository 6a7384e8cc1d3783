// minilm embed: one embedding per line of stdin, as JSON lines or a .npy array.
//
//   printf 'first text\nsecond text\n' | minilm embed --format jsonl
//   minilm embed --format npy --batch-size 64 --threads 2 < lines.txt > vectors.npy
//
// Lines are split on '\n' only (a '\r' stays in the text); an empty line is embedded like an
// empty text. Lines are embedded in batches of --batch-size and the output is flushed after each
// batch, so --batch-size 1 answers line by line.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <minilm/encoder.hpp>

#include "cli.hpp"

namespace {

std::size_t parse_count(const std::string& flag, const std::string& value, std::size_t min, std::size_t max) {
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size() || n < min || n > max) {
    throw minilm::error(minilm::errc::invalid_argument, flag + " wants a whole number in [" + std::to_string(min) +
                                                            ", " + std::to_string(max) + "], not '" + value + "'");
  }
  return n;
}

void write_all(const void* data, std::size_t n) {
  if (n != 0 && std::fwrite(data, 1, n, stdout) != n) {
    throw minilm::error(minilm::errc::io, "cannot write to stdout");
  }
}

// JSON lines: shortest decimal that reads back as the same float (std::to_chars).
void write_jsonl(const minilm::embeddings& e) {
  std::string out;
  out.reserve(e.size() * e.dimension * 12);
  char number[32];
  for (std::size_t i = 0; i < e.size(); ++i) {
    out += '[';
    for (std::size_t j = 0; j < e.dimension; ++j) {
      if (j) out += ',';
      const auto r = std::to_chars(number, number + sizeof number, e[i][j]);
      out.append(number, r.ptr);
    }
    out += "]\n";
  }
  write_all(out.data(), out.size());
}

// A .npy version 1.0 header for a float32 (n_rows, dim) C-order array, padded with spaces to
// a fixed 128 bytes so that it can be rewritten in place once n_rows is known.
std::string npy_header(std::size_t n_rows, std::size_t dim) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(n_rows) + ", " +
                     std::to_string(dim) + "), }";
  constexpr std::size_t total = 128;
  std::string header = "\x93NUMPY";
  header += '\x01';
  header += '\x00';
  const std::size_t len = total - 10;
  header += static_cast<char>(len & 0xFF);
  header += static_cast<char>(len >> 8);
  header += dict;
  header.append(total - 1 - header.size(), ' ');
  header += '\n';
  return header;
}

}  // namespace

int cli::run_embed(args a) {
  const std::string dir = a.take("--model", default_model_dir());
  const std::string format = a.take("--format", "jsonl");
  const std::size_t batch_size = parse_count("--batch-size", a.take("--batch-size", "32"), 1, 1 << 20);
  const std::size_t n_threads = parse_count("--threads", a.take("--threads", "0"), 0, 1024);
  if (!a.items.empty()) {
    std::fprintf(stderr, "minilm: embed: unknown argument '%s'\n", a.items.front().c_str());
    return 2;
  }
  if (format != "jsonl" && format != "npy") {
    std::fprintf(stderr, "minilm: embed: --format is jsonl or npy, not '%s'\n", format.c_str());
    return 2;
  }

  minilm::encoder_options options;
  options.n_threads = n_threads;
  const minilm::encoder model = minilm::encoder::load(dir, options);
  const std::size_t dim = model.dimension();

  // .npy needs the row count first: written as we go with the header rewritten at the end when
  // stdout can seek (a file), else kept until the end (a pipe).
  const bool npy = format == "npy";
  const bool npy_streamed = npy && std::ftell(stdout) == 0 && std::fseek(stdout, 0, SEEK_SET) == 0;
  std::vector<float> npy_rows;
  if (npy_streamed) write_all(npy_header(0, dim).data(), 128);

  const bool progress = ::isatty(STDERR_FILENO) == 1;
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;

  std::ios::sync_with_stdio(false);
  minilm::workspace ws;
  std::vector<std::string> lines;
  std::string line;
  std::size_t n_done = 0;
  bool more = true;
  while (more) {
    lines.clear();
    while (lines.size() < batch_size) {
      if (!std::getline(std::cin, line)) {
        more = false;
        break;
      }
      lines.push_back(line);
    }
    if (lines.empty()) break;
    const std::vector<std::string_view> texts(lines.begin(), lines.end());
    minilm::embeddings e;
    try {
      e = model.encode(texts, ws);
    } catch (const minilm::error& err) {
      if (err.code() != minilm::errc::invalid_text) throw;
      for (std::size_t i = 0; i < texts.size(); ++i) {  // say which line
        try {
          (void)model.tokenizer().encode(texts[i]);
        } catch (const minilm::error& line_err) {
          throw minilm::error(minilm::errc::invalid_text,
                              "stdin line " + std::to_string(n_done + i + 1) + ": " + (line_err.what() + 8));
        }
      }
      throw;
    }
    if (!npy) {
      write_jsonl(e);
    } else if (npy_streamed) {
      write_all(e.values.data(), e.values.size() * sizeof(float));
    } else {
      npy_rows.insert(npy_rows.end(), e.values.begin(), e.values.end());
    }
    std::fflush(stdout);
    n_done += lines.size();

    const auto now = std::chrono::steady_clock::now();
    if (progress && n_done >= 1000 && now - last_report >= std::chrono::seconds(1)) {
      const double s = std::chrono::duration<double>(now - start).count();
      std::fprintf(stderr, "\rminilm: %zu lines embedded, %.0f lines/s", n_done, static_cast<double>(n_done) / s);
      last_report = now;
    }
  }
  if (progress && last_report != start) std::fprintf(stderr, "\n");

  if (npy_streamed) {
    if (std::fseek(stdout, 0, SEEK_SET) != 0) throw minilm::error(minilm::errc::io, "cannot seek in stdout");
    write_all(npy_header(n_done, dim).data(), 128);
  } else if (npy) {
    write_all(npy_header(n_done, dim).data(), 128);
    write_all(npy_rows.data(), npy_rows.size() * sizeof(float));
  }
  if (std::fflush(stdout) != 0) throw minilm::error(minilm::errc::io, "cannot write to stdout");
  return 0;
}
