// minilm embed: one embedding per line of stdin, as JSON lines or a .npy array.
//
//   printf 'first text\nsecond text\n' | minilm embed --format jsonl
//   minilm embed --format npy --batch-size 64 --threads 2 < lines.txt > vectors.npy
//   minilm embed --prompt-name query < questions.txt     # a prompt of the folder's
//   minilm embed --prompt 'query: ' < questions.txt      # any prompt; --prompt '' for none
//
// Without --prompt-name or --prompt, the folder's default prompt applies (if it names one), as in
// sentence-transformers' encode().
// Lines are split on '\n' only (a '\r' stays in the text); an empty line is embedded like an
// empty text. Lines are embedded in batches of --batch-size and the output is flushed after each
// batch, so --batch-size 1 answers line by line.
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <minilm/encoder.hpp>

#include "cli.hpp"

namespace {

struct embed_options {
  std::string model_dir;
  bool npy = false;  // --format npy, else jsonl
  std::size_t batch_size = 32;
  std::size_t n_threads = 0;
  minilm::encode_options encode;  // --prompt-name, --prompt
};

std::size_t parse_count(const std::string& flag, const std::string& value, std::size_t min, std::size_t max) {
  std::size_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc{} || end != value.data() + value.size() || n < min || n > max) {
    throw minilm::error(minilm::errc::invalid_argument, flag + " wants a whole number in [" + std::to_string(min) +
                                                            ", " + std::to_string(max) + "], not '" + value + "'");
  }
  return n;
}

// The flags of `embed`, or nullopt once stderr says which one is wrong (exit status 2). A count
// out of range throws, as the library's errors do (exit status 1).
std::optional<embed_options> read_options(cli::args& a) {
  embed_options o;
  o.model_dir = a.take("--model", cli::default_model_dir());
  const std::string format = a.take("--format", "jsonl");
  o.batch_size = parse_count("--batch-size", a.take("--batch-size", "32"), 1, 1 << 20);
  o.n_threads = parse_count("--threads", a.take("--threads", "0"), 0, 1024);
  o.encode.prompt_name = a.take_optional("--prompt-name");
  o.encode.prompt = a.take_optional("--prompt");
  if (o.encode.prompt_name && o.encode.prompt) {
    std::fprintf(stderr, "minilm: embed: give --prompt-name or --prompt, not both\n");
    return std::nullopt;
  }
  if (!a.items.empty()) {
    std::fprintf(stderr, "minilm: embed: unknown argument '%s'\n", a.items.front().c_str());
    return std::nullopt;
  }
  if (format != "jsonl" && format != "npy") {
    std::fprintf(stderr, "minilm: embed: --format is jsonl or npy, not '%s'\n", format.c_str());
    return std::nullopt;
  }
  o.npy = format == "npy";
  return o;
}

// Up to `batch_size` lines of stdin into `lines`; false when none were left.
bool read_batch(std::size_t batch_size, std::vector<std::string>& lines) {
  lines.clear();
  std::string line;
  while (lines.size() < batch_size && std::getline(std::cin, line)) lines.push_back(std::move(line));
  return !lines.empty();
}

// `e`, about text i of a batch ("minilm: text i: ..."), reworded to name stdin line `line_no`.
minilm::error at_line(const minilm::error& e, std::size_t line_no) {
  std::string_view message = e.what();
  for (const std::string& prefix : {std::string("minilm: "), "text " + std::to_string(*e.text_index()) + ": "}) {
    if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
  }
  return minilm::error(e.code(), "stdin line " + std::to_string(line_no) + ": " + std::string(message));
}

// The embeddings of a batch whose first line is stdin line `first_line`. An error about one of
// its texts names that line; one the library could not pin to a text is reported as it is.
minilm::embeddings embed_lines(const minilm::encoder& model, const std::vector<std::string>& lines,
                               std::size_t first_line, const minilm::encode_options& options) {
  const std::vector<std::string_view> texts(lines.begin(), lines.end());
  try {
    return model.encode(texts, options);
  } catch (const minilm::error& e) {
    if (!e.text_index()) throw;
    throw at_line(e, first_line + *e.text_index());
  }
}

void write_all(const void* data, std::size_t n) {
  if (n != 0 && std::fwrite(data, 1, n, stdout) != n) {
    throw minilm::error(minilm::errc::io, "cannot write to stdout");
  }
}
void write_all(const std::string& s) { write_all(s.data(), s.size()); }

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
  write_all(out);
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

// Stdout, in the chosen format, flushed after each batch. A .npy array needs its row count
// first: its rows are written as they come, the header rewritten at the end, when stdout can
// seek (a file), else kept until the end (a pipe).
class embedding_output {
 public:
  embedding_output(bool npy, std::size_t dim)
      : npy_(npy), dim_(dim), npy_streamed_(npy && std::ftell(stdout) == 0 && std::fseek(stdout, 0, SEEK_SET) == 0) {
    if (npy_streamed_) write_all(npy_header(0, dim_));
  }

  void write(const minilm::embeddings& e) {
    if (!npy_) {
      write_jsonl(e);
    } else if (npy_streamed_) {
      write_all(e.values.data(), e.values.size() * sizeof(float));
    } else {
      npy_rows_.insert(npy_rows_.end(), e.values.begin(), e.values.end());
    }
    std::fflush(stdout);
    n_rows_ += e.size();
  }

  void finish() {
    if (npy_streamed_) {
      if (std::fseek(stdout, 0, SEEK_SET) != 0) throw minilm::error(minilm::errc::io, "cannot seek in stdout");
      write_all(npy_header(n_rows_, dim_));
    } else if (npy_) {
      write_all(npy_header(n_rows_, dim_));
      write_all(npy_rows_.data(), npy_rows_.size() * sizeof(float));
    }
    if (std::fflush(stdout) != 0) throw minilm::error(minilm::errc::io, "cannot write to stdout");
  }

 private:
  bool npy_;
  std::size_t dim_;
  bool npy_streamed_;
  std::vector<float> npy_rows_;  // a .npy array's rows, when stdout cannot seek
  std::size_t n_rows_ = 0;
};

// "minilm: N lines embedded, R lines/s" on stderr when it is a terminal, at most once a second
// and only once 1,000 lines are done.
class progress_line {
 public:
  void update(std::size_t n_done) {
    const auto now = clock::now();
    if (!shown_ || n_done < 1000 || now - last_report_ < std::chrono::seconds(1)) return;
    const double s = std::chrono::duration<double>(now - start_).count();
    std::fprintf(stderr, "\rminilm: %zu lines embedded, %.0f lines/s", n_done, static_cast<double>(n_done) / s);
    last_report_ = now;
  }
  void finish() const {
    if (shown_ && last_report_ != start_) std::fprintf(stderr, "\n");
  }

 private:
  using clock = std::chrono::steady_clock;
  bool shown_ = ::isatty(STDERR_FILENO) == 1;
  clock::time_point start_ = clock::now();
  clock::time_point last_report_ = start_;
};

}  // namespace

int cli::run_embed(args a) {
  const std::optional<embed_options> o = read_options(a);
  if (!o) return 2;
  minilm::encoder_options load_options;
  load_options.n_threads = o->n_threads;
  const minilm::encoder model = minilm::encoder::load(o->model_dir, load_options);
  (void)model.prompt_length(o->encode);  // an unknown prompt name fails before any input is read

  embedding_output out(o->npy, model.dimension());
  progress_line progress;
  std::ios::sync_with_stdio(false);
  minilm::workspace ws;  // one for every batch
  minilm::encode_options options = o->encode;
  options.scratch = &ws;
  std::vector<std::string> lines;
  std::size_t n_done = 0;
  while (read_batch(o->batch_size, lines)) {
    out.write(embed_lines(model, lines, n_done + 1, options));
    n_done += lines.size();
    progress.update(n_done);
  }
  progress.finish();
  out.finish();
  return 0;
}
