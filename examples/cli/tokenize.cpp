// minilm tokenize: one JSON array of token ids per line of stdin, as the model sees the line
// (with [CLS] and [SEP], truncated to the model's max_seq_length).
//
//   printf 'Hello, world!\n' | minilm tokenize --model models/all-MiniLM-L6-v2
//   [101,7592,1010,2088,999,102]
//
// Lines are split on "\n" only (a "\r" stays part of the line, where the tokenizer treats it
// as white space). Invalid UTF-8 stops with an error naming the line and byte offset unless
// --replace-invalid is given.
#include <cstdio>
#include <iostream>
#include <string>

#include <minilm/model_folder.hpp>
#include <minilm/tokenizer.hpp>

#include "cli.hpp"

int cli::run_tokenize(args a) {
  const std::string dir = a.take("--model", default_model_dir());
  minilm::tokenizer_options options;
  if (a.take_flag("--replace-invalid")) options.on_invalid_utf8 = minilm::invalid_utf8::replace;
  if (!a.items.empty()) {
    std::fprintf(stderr, "minilm: tokenize: unexpected argument '%s'\n"
                         "usage: minilm tokenize [--model DIR] [--replace-invalid] < lines.txt\n", a.items[0].c_str());
    return 2;
  }
  const minilm::tokenizer tok = minilm::tokenizer::load(minilm::read_model_folder(dir), options);

  std::ios::sync_with_stdio(false);
  std::string line, out;
  std::size_t line_no = 0;
  while (std::getline(std::cin, line)) {
    ++line_no;
    minilm::encoding e;
    try {
      e = tok.encode(line);
    } catch (const minilm::error& err) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      // "minilm: " is already in what(); name the line.
      std::fprintf(stderr, "minilm: stdin line %zu: %s\n", line_no, err.what() + 8);
      return 1;
    }
    out.push_back('[');
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
      if (i) out.push_back(',');
      out += std::to_string(e.ids[i]);
    }
    out += "]\n";
    if (out.size() > (1u << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) != 0) {
    std::fprintf(stderr, "minilm: tokenize: cannot write the output\n");
    return 1;
  }
  if (std::cin.bad()) {
    std::fprintf(stderr, "minilm: tokenize: cannot read stdin\n");
    return 1;
  }
  return 0;
}
