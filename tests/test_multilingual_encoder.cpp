// XLM-RoBERTa-family encoders and sentence-transformers' prompts.
//
// First against sentence-transformers: the random-weight multilingual folders that
// tools/setup/fetch_multilingual.sh builds (a BertModel with the XLM-R tokenizer, an XLMRobertaModel
// with tokenizer.json, the same with sentencepiece.bpe.model), each encoded without a prompt,
// with a named prompt and with a literal one, through the C++ API and through `minilm embed`,
// compared with the goldens tools/goldens/make_multilingual_goldens.py made. Then, on tiny folders, the
// rules one at a time: where positions start, how many tokens fit, which prompt applies, which
// tokens the pooling leaves out, and the errors.
#include <doctest/doctest.h>

#include <minilm/encoder.hpp>
#include <minilm/tokenizer.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iomanip>
#include <limits>
#include <string>
#include <vector>

#include "pooling.hpp"
#include "support.hpp"
#include "test_data.hpp"
#include "test_encoder_golden.hpp"
#include "test_malformed.hpp"

namespace {

namespace fs = std::filesystem;
using minilm::errc;
using test_support::tiny_bert;
using test_support::write_file;

// Parity thresholds with sentence-transformers (float32 on both sides).
constexpr double max_abs_tolerance = 1e-5;
constexpr double min_cosine_tolerance = 0.999999;

using test_data::multilingual_folder;
using test_data::source_root;

std::vector<std::string_view> views(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The minilm::error that f() throws; fails the test when it throws none.
minilm::error error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const minilm::error& e) {
    return e;
  }
  FAIL("no error");
  return minilm::error(errc::io, "");
}

void check_message(const minilm::error& e, errc code, std::initializer_list<std::string> needles) {
  INFO("message: " << e.what());
  CHECK(minilm::errc_name(e.code()) == std::string(minilm::errc_name(code)));
  for (const auto& n : needles) CHECK(std::string(e.what()).find(n) != std::string::npos);
}

minilm::encode_options named(const std::string& name) {
  minilm::encode_options o;
  o.prompt_name = name;
  return o;
}

minilm::encode_options literal(const std::string& prompt) {
  minilm::encode_options o;
  o.prompt = prompt;
  return o;
}

// `minilm embed` on a file of lines, with extra arguments: one vector per line, read back
// from the JSON lines at full precision (the tool prints floats that round-trip).
std::vector<std::vector<float>> cli_embed(const fs::path& model, const fs::path& lines,
                                          const std::vector<std::string>& args) {
  const char* cli = malformed::cli_path();
  REQUIRE_MESSAGE(cli != nullptr, "MINILM_CLI is not set: build with -Dexamples=enabled");
  std::vector<std::string> all = {"embed", "--model", model.string(), "--batch-size", "64", "--threads", "2"};
  all.insert(all.end(), args.begin(), args.end());
  const malformed::cli_result r = malformed::run_cli(all, lines);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::vector<float>> rows;
  std::size_t start = 0;
  for (std::size_t end; (end = r.out.find('\n', start)) != std::string::npos; start = end + 1) {
    std::vector<float> row;
    const char* p = r.out.c_str() + start + 1;  // after '['
    for (char* after = nullptr;; p = after + 1) {
      row.push_back(std::strtof(p, &after));
      if (*after != ',') break;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// The calls tools/goldens/make_multilingual_goldens.py made, by golden file.
struct golden_call {
  const char* file;
  minilm::encode_options options;
  std::vector<std::string> cli_args;
};

std::vector<golden_call> golden_calls(bool with_prompts) {
  std::vector<golden_call> calls = {{"golden", {}, {}}};  // the folder's default prompt, if any
  if (with_prompts) {
    calls.push_back({"golden-query", named("query"), {"--prompt-name", "query"}});
    calls.push_back({"golden-prompt", literal("passage: "), {"--prompt", "passage: "}});
  }
  return calls;
}

}  // namespace

TEST_CASE("multilingual folders match sentence-transformers, without a prompt, with a named one and a literal one") {
  struct folder_case {
    const char* name;
    bool with_prompts;             // golden-query and golden-prompt were made too
    std::size_t query_length;      // the tokens sentence-transformers counted as "query: "
    bool include_prompt;
  };
  // sentence-transformers 6.2 reported prompt_length 4 for "query: " (<s> ▁que ry :) and 3 for
  // "passage: " (<s> ▁passage :).
  const folder_case cases[] = {
      {"random-bert-xlmr", true, 4, true},
      {"random-xlm-roberta", true, 4, false},
      {"random-xlm-roberta-spm", false, 4, false},
  };
  for (const folder_case& fc : cases) {
    SUBCASE(fc.name) {
      const fs::path folder = multilingual_folder(fc.name);
      const fs::path data = source_root() / "tests" / "data" / "multilingual" / fc.name;
      minilm::encoder_options load;
      load.n_threads = 2;
      const minilm::encoder model = minilm::encoder::load(folder, load);
      CHECK(model.max_seq_length() == 512);  // XLM-R: 514 positions from 2 in the RoBERTa folders
      CHECK(model.folder().pooling.include_prompt == fc.include_prompt);
      CHECK(model.prompt_length(named("query")) == fc.query_length);
      CHECK(model.prompt_length(literal("passage: ")) == 3);
      const auto all_texts = encoder_golden::read_texts(data / "texts.txt");
      // The texts compared (a sample in the runs per kernel: encoder_golden::sampling()), the same
      // for every golden of the folder; `minilm embed` reads them from a file.
      const auto picked = encoder_golden::sample_rows(encoder_golden::read_golden(data / "golden"));
      const auto texts = encoder_golden::select(all_texts, picked);
      test_support::temp_dir tmp;
      fs::path lines = data / "texts.txt";
      if (encoder_golden::sampling()) {
        lines = tmp / "texts.txt";
        std::string bytes;
        for (const std::string& t : texts) bytes += t + '\n';
        write_file(lines, bytes);
      }

      for (const golden_call& call : golden_calls(fc.with_prompts)) {
        INFO("golden: " << std::string(call.file));
        REQUIRE_MESSAGE(fs::exists(data / call.file), "missing golden: run tools/goldens/make_multilingual_goldens.py");
        const auto full = encoder_golden::read_golden(data / call.file);
        REQUIRE(full.n_texts == all_texts.size());
        const auto g = encoder_golden::select(full, picked);
        REQUIRE(g.n_texts == texts.size());

        // The ids the encoder feeds the model: the prompt, then the text, truncated to 512.
        const minilm::packed_batch fed = model.tokenize(views(texts), call.options);
        REQUIRE(fed.size() == g.n_texts);
        std::size_t mismatched = 0, first_mismatch = 0;
        for (std::size_t i = 0; i < g.n_texts; ++i) {
          const std::vector<std::int32_t> mine(fed.ids.begin() + static_cast<long>(fed.offsets[i]),
                                               fed.ids.begin() + static_cast<long>(fed.offsets[i + 1]));
          if (mine != g.ids_of(i) && mismatched++ == 0) first_mismatch = i;
        }
        CHECK_MESSAGE(mismatched == 0, mismatched << " texts' ids differ from the golden's, the first text "
                                                  << first_mismatch << ": '" << texts[first_mismatch] << "'");

        // The embeddings, through the API.
        const minilm::embeddings e = model.encode(views(texts), call.options);
        REQUIRE(e.size() == g.n_texts);
        REQUIRE(e.dimension == g.dim);
        const auto d = encoder_golden::compare(e.values.data(), g.embeddings.data(), g.n_texts, g.dim);
        const std::string what = std::string(fc.name) + "/" + call.file;
        MESSAGE(std::setprecision(12) << what << " (API, " << g.n_texts << " texts, "
                << g.ids.size() << " tokens): max |difference| " << d.max_abs << " (largest |value| " << d.max_ref
                << ", text " << d.worst_row << "), min cosine " << d.min_cosine);
        CHECK(d.max_abs <= max_abs_tolerance);
        CHECK(d.min_cosine >= min_cosine_tolerance);

        // And through `minilm embed`: the same floats, bit for bit.
        const auto rows = cli_embed(folder, lines, call.cli_args);
        REQUIRE(rows.size() == g.n_texts);
        std::vector<float> from_cli;
        std::size_t differ = 0;
        for (std::size_t i = 0; i < rows.size(); ++i) {
          REQUIRE(rows[i].size() == g.dim);
          differ += !same_bits(rows[i], e[i]);
          from_cli.insert(from_cli.end(), rows[i].begin(), rows[i].end());
        }
        const auto dc = encoder_golden::compare(from_cli.data(), g.embeddings.data(), g.n_texts, g.dim);
        MESSAGE(std::setprecision(12) << what << " (minilm embed): max |difference| "
                << dc.max_abs << ", min cosine " << dc.min_cosine);
        CHECK(differ == 0);
        CHECK(dc.max_abs <= max_abs_tolerance);
        CHECK(dc.min_cosine >= min_cosine_tolerance);
      }
    }
  }
}

namespace {

// A tiny model's tensors with values that are a fixed function of the tensor and the element,
// except the position table, whose row r holds what row position_row(r) would: two folders
// whose tables are permutations of each other differ in nothing else.
void write_weights(const fs::path& file, const tiny_bert& m, const std::function<int(int)>& position_row) {
  test_support::safetensors_builder b;
  int k = 0;
  for (const auto& [name, shape] : test_support::tiny_bert_tensors(m)) {
    ++k;
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    const bool positions = name == "embeddings.position_embeddings.weight";
    const bool norm_weight = name.find("LayerNorm.weight") != std::string::npos;
    std::string bytes(4 * n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t at = i;
      if (positions) at = static_cast<std::size_t>(position_row(static_cast<int>(i) / m.hidden)) * m.hidden + i % m.hidden;
      const float v = (norm_weight ? 1.0f : 0.0f) + 0.5f * std::sin(0.7f * static_cast<float>(at + 1) + 1.3f * static_cast<float>(k));
      std::memcpy(bytes.data() + 4 * i, &v, 4);
    }
    b.add_raw(name, "F32", shape, bytes);
  }
  write_file(file, b.build());
}

// A tiny folder: model_type "bert" (pad_token_id 0) or "xlm-roberta" with the given pad_token_id,
// position rows as write_weights() says, and sentence_bert_config.json without max_seq_length.
void write_folder(const fs::path& dir, const tiny_bert& m, const std::string& model_type, int pad,
                  const std::function<int(int)>& position_row) {
  test_support::write_tiny_bert_folder(dir, m);
  std::string config = test_support::tiny_bert_config_json(m);
  config.replace(config.find("\"model_type\":\"bert\""), 19, "\"model_type\":\"" + model_type + "\"");
  config.replace(config.find("\"pad_token_id\":0"), 16, "\"pad_token_id\":" + std::to_string(pad));
  write_file(dir / "config.json", config);
  write_file(dir / "sentence_bert_config.json", R"({"do_lower_case":false})");
  write_weights(dir / "model.safetensors", m, position_row);
}

tiny_bert roberta_shape() {
  tiny_bert m;
  m.types = 1;  // type_vocab_size 1, as XLM-R
  m.normalize = false;
  return m;
}

// Token states of one sequence of ids.
std::vector<float> token_states(const minilm::encoder& model, const std::vector<std::int32_t>& ids) {
  minilm::encode_options o;
  o.token_states = true;
  const std::size_t offsets[] = {0, ids.size()};
  const minilm::embeddings e = model.encode_ids(ids, offsets, o);
  return e.token_states;
}

}  // namespace

TEST_CASE("XLM-RoBERTa numbers positions from pad_token_id + 1, and gives a pad id position pad_token_id") {
  // transformers' create_position_ids_from_input_ids with pad_token_id 1: ids [<s> 5 7 9 </s>]
  // take positions 2 3 4 5 6; with the pad id inside, [<s> 5 <pad> 9 </s>] take 2 3 1 4 5. A BERT
  // folder (positions from 0) whose position table holds those rows in that order must give the
  // very same token states.
  test_support::temp_dir dir;
  const tiny_bert m = roberta_shape();
  write_folder(dir / "xlmr", m, "xlm-roberta", 1, [](int r) { return r; });
  const minilm::encoder xlmr = minilm::encoder::load(dir / "xlmr");
  CHECK(xlmr.folder().config.position_offset == 2);

  const std::vector<std::int32_t> plain = {2, 5, 7, 9, 3}, with_pad = {2, 5, 1, 9, 3};
  write_folder(dir / "shifted", m, "bert", 0, [](int r) { return r + 2 < 10 ? r + 2 : r; });
  const int pad_order[] = {2, 3, 1, 4, 5, 0, 6, 7, 8, 9};
  write_folder(dir / "pad-order", m, "bert", 0, [&](int r) { return pad_order[r]; });
  write_folder(dir / "from-zero", m, "bert", 0, [](int r) { return r; });

  CHECK(same_bits(token_states(xlmr, plain), token_states(minilm::encoder::load(dir / "shifted"), plain)));
  CHECK(same_bits(token_states(xlmr, with_pad), token_states(minilm::encoder::load(dir / "pad-order"), with_pad)));
  // Not a table that happens to fit anything: positions from 0 give other states.
  CHECK_FALSE(same_bits(token_states(xlmr, plain), token_states(minilm::encoder::load(dir / "from-zero"), plain)));
  CHECK_FALSE(same_bits(token_states(xlmr, with_pad), token_states(minilm::encoder::load(dir / "shifted"), with_pad)));
}

TEST_CASE("an XLM-RoBERTa sequence holds max_position_embeddings - pad_token_id - 1 tokens") {
  test_support::temp_dir dir;
  write_folder(dir.path(), roberta_shape(), "xlm-roberta", 1, [](int r) { return r; });  // 10 positions
  const minilm::encoder model = minilm::encoder::load(dir.path());
  CHECK(model.folder().config.max_tokens() == 8);
  CHECK(model.max_seq_length() == 8);  // no max_seq_length anywhere: all the positions can take

  // A long text is truncated to 8 tokens, [CLS] and [SEP] included.
  const std::vector<std::string> long_text = {"a5 b6 c7 d8 e9 f10 g11 h12 i13 j14 k15"};
  const minilm::packed_batch fed = model.tokenize(views(long_text));
  CHECK(fed.length(0) == 8);
  CHECK(model.encode(long_text).size() == 1);

  const std::vector<std::int32_t> eight = {2, 5, 6, 7, 8, 9, 10, 3}, nine = {2, 5, 6, 7, 8, 9, 10, 11, 3};
  CHECK(token_states(model, eight).size() == 8 * 8);
  const std::size_t offsets[] = {0, eight.size(), eight.size() + nine.size()};
  std::vector<std::int32_t> both = eight;
  both.insert(both.end(), nine.begin(), nine.end());
  const minilm::error e = error_of([&] { model.encode_ids(both, offsets); });
  check_message(e, errc::invalid_argument,
                {"text 1: ", "has 9 tokens, more than the 8 positions from pad_token_id + 1 (2) to max_position_embeddings (10)"});
  CHECK(e.text_index() == 1u);

  minilm::encoder_options longer;
  longer.max_seq_length = 9;
  check_message(error_of([&] { minilm::encoder::load(dir.path(), longer); }), errc::invalid_argument,
                {"max_seq_length 9 is outside [2, 8]", "pad_token_id + 1 = 2"});
  longer.max_seq_length = 8;
  CHECK(minilm::encoder::load(dir.path(), longer).max_seq_length() == 8);
}

namespace {

// A tiny WordPiece folder (tokens a5 b6 c7 ... k15) with prompts:
//   query "a5 b6 " ([CLS] a5 b6: 3 tokens), passage "c7 " (2 tokens), default query.
void write_prompt_folder(const fs::path& dir, const std::string& pooling = R"("pooling_mode":"mean")",
                         bool include_prompt = true) {
  tiny_bert m;
  m.normalize = false;
  m.positions = 16;
  test_support::write_tiny_bert_folder(dir, m);
  write_weights(dir / "model.safetensors", m, [](int r) { return r; });  // tokens' states far apart
  write_file(dir / "config_sentence_transformers.json",
             R"({"prompts":{"query":"a5 b6 ","passage":"c7 "},"default_prompt_name":"query"})");
  write_file(dir / "1_Pooling" / "config.json", R"({"embedding_dimension":8,)" + pooling +
                                                    R"(,"include_prompt":)" + (include_prompt ? "true" : "false") + "}");
}

// The mean of rows [first, n) of a text's token states, as sentence-transformers' masked mean.
std::vector<float> mean_of_rows(std::span<const float> states, std::size_t dim, std::size_t first) {
  const std::size_t n = states.size() / dim;
  std::vector<float> out(dim);
  for (std::size_t j = 0; j < dim; ++j) {
    double sum = 0;
    for (std::size_t i = first; i < n; ++i) sum += states[i * dim + j];
    out[j] = static_cast<float>(sum / static_cast<double>(n - first));
  }
  return out;
}

double max_difference(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, static_cast<double>(std::abs(a[i] - b[i])));
  return d;
}

}  // namespace

TEST_CASE("which prompt applies: a name, a literal prompt, the folder's default, or none") {
  test_support::temp_dir dir;
  write_prompt_folder(dir.path());
  const minilm::encoder model = minilm::encoder::load(dir.path());
  const std::vector<std::string> texts = {"d8 e9", "f10"};

  // The default prompt "query" applies when a call names none.
  CHECK(model.prompt_length() == 3);
  CHECK(model.prompt_length(named("query")) == 3);
  CHECK(model.prompt_length(named("passage")) == 2);
  CHECK(model.prompt_length(literal("d8 e9 f10")) == 4);
  CHECK(model.prompt_length(literal("")) == 0);      // "": no prompt, not even the default
  CHECK(model.prompt_length(named("document")) == 0);  // known to sentence-transformers, empty

  const minilm::packed_batch fed = model.tokenize(views(texts));
  CHECK(fed.ids == std::vector<std::int32_t>{2, 5, 6, 8, 9, 3, 2, 5, 6, 10, 3});
  CHECK(model.tokenize(views(texts), literal("")).ids == std::vector<std::int32_t>{2, 8, 9, 3, 2, 10, 3});
  CHECK(model.tokenize(views(texts), named("passage")).ids == std::vector<std::int32_t>{2, 7, 8, 9, 3, 2, 7, 10, 3});

  // With include_prompt true (this folder), a prompt is just the start of the text.
  const minilm::embeddings with_default = model.encode(texts);
  const std::vector<std::string> spelled_out = {"a5 b6 d8 e9", "a5 b6 f10"};
  CHECK(same_bits(with_default.values, model.encode(spelled_out, literal("")).values));
  CHECK(same_bits(with_default.values, model.encode(texts, named("query")).values));
  CHECK_FALSE(same_bits(with_default.values, model.encode(texts, literal("")).values));

  // Every overload applies it.
  CHECK(same_bits(model.encode_one(texts[0]), with_default[0]));
  CHECK(same_bits(model.encode_one(texts[0], named("passage")), model.encode(texts, named("passage"))[0]));
  std::vector<float> out(2 * 8);
  model.encode(views(texts), out);
  CHECK(same_bits(out, with_default.values));
  minilm::workspace ws;
  minilm::encode_options no_prompt = literal("");
  no_prompt.scratch = &ws;
  model.encode(views(texts), out, no_prompt);
  CHECK(same_bits(out, model.encode(texts, literal("")).values));
}

TEST_CASE("include_prompt false: the pooling leaves out the prompt's tokens, [CLS] included") {
  test_support::temp_dir dir;
  const std::vector<std::string> texts = {"d8 e9", "f10 g11 h12"};
  minilm::encode_options with_states = named("query");
  with_states.token_states = true;

  SUBCASE("mean") {
    write_prompt_folder(dir.path(), R"("pooling_mode":"mean")", false);
    const minilm::encoder model = minilm::encoder::load(dir.path());
    CHECK_FALSE(model.folder().pooling.include_prompt);
    const minilm::embeddings e = model.encode(texts, with_states);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      CAPTURE(i);
      CHECK(max_difference(e[i], mean_of_rows(e.tokens(i), 8, 3)) <= 1e-6);  // rows 3.. : the text and [SEP]
      CHECK(max_difference(e[i], mean_of_rows(e.tokens(i), 8, 0)) > 1e-3);   // not the mean of every row
    }
    // Without a prompt nothing is left out.
    const minilm::embeddings bare = model.encode(texts, [] {
      minilm::encode_options o = literal("");
      o.token_states = true;
      return o;
    }());
    CHECK(max_difference(bare[0], mean_of_rows(bare.tokens(0), 8, 0)) <= 1e-6);
  }
  SUBCASE("cls: the first token after the prompt") {
    write_prompt_folder(dir.path(), R"("pooling_mode":"cls")", false);
    const minilm::encoder model = minilm::encoder::load(dir.path());
    const minilm::embeddings e = model.encode(texts, with_states);
    for (std::size_t i = 0; i < texts.size(); ++i) CHECK(same_bits(e[i], e.tokens(i).subspan(3 * 8, 8)));
  }
  SUBCASE("a text truncated inside the prompt pools what is left after it") {
    // max_seq_length 4: the prompt "a5 b6 c7 d8 " alone is [CLS] a5 b6 [SEP] after truncation,
    // so sentence-transformers counts 3 prompt tokens, and [CLS] a5 b6 [SEP] pools only [SEP].
    write_prompt_folder(dir.path(), R"("pooling_mode":"mean")", false);
    minilm::encoder_options four;
    four.max_seq_length = 4;
    const minilm::encoder model = minilm::encoder::load(dir.path(), four);
    minilm::encode_options o = literal("a5 b6 c7 d8 ");
    CHECK(model.prompt_length(o) == 3);
    o.token_states = true;
    const minilm::embeddings e = model.encode(std::vector<std::string>{"e9"}, o);
    CHECK(model.tokenize(std::vector<std::string_view>{"e9"}, o).ids == std::vector<std::int32_t>{2, 5, 6, 3});
    CHECK(same_bits(e[0], e.tokens(0).subspan(3 * 8, 8)));
  }
}

TEST_CASE("pooling with more tokens left out than a sequence has, as sentence-transformers' all-zero mask") {
  // Rows of 2 values; one sequence of 3 tokens.
  const std::vector<float> hidden = {1, -2, 3, 4, -5, 6};
  const std::size_t offsets[] = {0, 3};
  float out[2];
  using minilm::pooling_mode;
  minilm::detail::pool_sequences(hidden.data(), 2, offsets, pooling_mode::mean, 1, out);
  CHECK(out[0] == doctest::Approx(-1.0));
  CHECK(out[1] == doctest::Approx(5.0));
  minilm::detail::pool_sequences(hidden.data(), 2, offsets, pooling_mode::cls, 1, out);
  CHECK((out[0] == 3 && out[1] == 4));
  minilm::detail::pool_sequences(hidden.data(), 2, offsets, pooling_mode::max, 1, out);
  CHECK((out[0] == 3 && out[1] == 6));

  minilm::detail::pool_sequences(hidden.data(), 2, offsets, pooling_mode::mean, 3, out);  // sum 0 / 1e-9
  CHECK((out[0] == 0 && out[1] == 0));
  minilm::detail::pool_sequences(hidden.data(), 2, offsets, pooling_mode::mean_sqrt_len, 5, out);
  CHECK((out[0] == 0 && out[1] == 0));
  minilm::detail::pool_sequences(hidden.data(), 2, offsets, pooling_mode::cls, 3, out);  // argmax of zeros: 0
  CHECK((out[0] == 1 && out[1] == -2));
  minilm::detail::pool_sequences(hidden.data(), 2, offsets, pooling_mode::max, 3, out);
  CHECK((out[0] == -std::numeric_limits<float>::infinity() && out[1] == -std::numeric_limits<float>::infinity()));
}

TEST_CASE("prompt mistakes are errors that say what to do") {
  test_support::temp_dir dir;
  write_prompt_folder(dir.path());
  const minilm::encoder model = minilm::encoder::load(dir.path());
  const std::vector<std::string> texts = {"d8"};

  minilm::encode_options both = named("query");
  both.prompt = "a5 ";
  check_message(error_of([&] { model.encode(texts, both); }), errc::invalid_argument,
                {"give a prompt or a prompt name, not both"});
  check_message(error_of([&] { model.encode_one("d8", both); }), errc::invalid_argument, {"not both"});
  check_message(error_of([&] { model.encode(texts, named("qurey")); }), errc::invalid_argument,
                {"no prompt named 'qurey' (the prompts are 'query', 'document', 'passage')"});
  check_message(error_of([&] { model.encode(texts, literal("bad \xff prompt")); }), errc::invalid_text,
                {"the prompt: ", "byte"});
  const std::vector<std::int32_t> ids = {2, 5, 3};
  const std::size_t offsets[] = {0, 3};
  check_message(error_of([&] { model.encode_ids(ids, offsets, named("query")); }), errc::invalid_argument,
                {"encode_ids takes token ids: a prompt applies to texts only"});

  // A text's error keeps its index with a prompt in front of it.
  const std::vector<std::string> bad = {"d8", "e9 \xff"};
  const minilm::error e = error_of([&] { model.encode(bad); });
  CHECK(e.code() == errc::invalid_text);
  CHECK(e.text_index() == 1u);
}

TEST_CASE("minilm embed --prompt-name / --prompt, and minilm info shows the prompts") {
  if (malformed::cli_path() == nullptr) {
    MESSAGE("MINILM_CLI is not set (examples disabled): the command-line tool is not tested");
    return;
  }
  test_support::temp_dir dir;
  write_prompt_folder(dir / "m", R"("pooling_mode":"mean")", false);
  write_file(dir / "lines.txt", "d8 e9\nf10\n");
  const minilm::encoder model = minilm::encoder::load(dir / "m");
  const std::vector<std::string> texts = {"d8 e9", "f10"};

  const std::pair<std::vector<std::string>, minilm::encode_options> calls[] = {
      {{}, {}}, {{"--prompt-name", "passage"}, named("passage")}, {{"--prompt", "c7 d8 "}, literal("c7 d8 ")},
      {{"--prompt="}, literal("")}};
  for (const auto& call : calls) {
    const auto& [args, options] = call;
    CAPTURE(call.first.size());  // a structured binding in CAPTURE's lambda needs clang 16
    const auto rows = cli_embed(dir / "m", dir / "lines.txt", args);
    const minilm::embeddings want = model.encode(texts, options);
    REQUIRE(rows.size() == 2);
    CHECK(same_bits(rows[0], want[0]));
    CHECK(same_bits(rows[1], want[1]));
  }

  const auto both = malformed::run_cli({"embed", "--model", (dir / "m").string(), "--prompt-name", "query", "--prompt", "x"},
                                       dir / "lines.txt");
  CHECK(both.exit_code == 2);
  CHECK(both.err.find("give --prompt-name or --prompt, not both") != std::string::npos);
  CHECK(both.out.empty());
  const auto unknown = malformed::run_cli({"embed", "--model", (dir / "m").string(), "--prompt-name", "qurey"},
                                          dir / "lines.txt");
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("no prompt named 'qurey' (the prompts are 'query', 'document', 'passage')") != std::string::npos);
  CHECK(unknown.out.empty());

  const auto info = malformed::run_cli({"info", "--model", (dir / "m").string()});
  INFO(info.out);
  CHECK(info.exit_code == 0);
  CHECK(info.out.find("prompts         query \"a5 b6 \", passage \"c7 \" (default query)\n") != std::string::npos);
  CHECK(info.out.find("prompt tokens left out") != std::string::npos);
}
