// Malformed model folders: every file a folder holds, broken in the ways a truncated
// download, a bad converter or a hostile file can break it. Each is refused with a
// minilm::error whose message names the file and the field or byte offset, never a crash,
// a hang or an allocation the file's size does not justify; the command-line tool turns
// each into a message on stderr and exit code 1. (test_safetensors.cpp and
// test_model_folder.cpp hold the rules themselves; these are the cases they leave out.)
// Last, token ids the model cannot take, which name the sequence they are in.
#include "test_malformed.hpp"

#include <cstring>

#include <minilm/encoder.hpp>
#include <minilm/model_folder.hpp>
#include <minilm/safetensors.hpp>
#include <minilm/weights.hpp>

using minilm::errc;
using malformed::check_error;
using malformed::error_of;
using test_support::safetensors_builder;
using test_support::tiny_bert;
using test_support::write_file;

namespace fs = std::filesystem;

namespace {

// Reads a folder and binds its weights, as minilm::encoder::load does.
void load_folder(const fs::path& dir) {
  const auto folder = minilm::read_model_folder(dir);
  const auto file = minilm::safetensors_file::open(folder.weights);
  minilm::bind_bert_weights(file, folder.config);
}

std::uint64_t header_length(const std::string& file) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(file[static_cast<std::size_t>(i)]);
  return n;
}

// A safetensors file from its header JSON and data, with the header padded by spaces to
// `length % 8 == remainder` (writers pad to remainder 0).
std::string with_header_remainder(std::string header, const std::string& data, std::size_t remainder) {
  while (header.size() % 8 != remainder) header += ' ';
  return safetensors_builder::length_prefix(header.size()) + header + data;
}

minilm::safetensors_file parse(const std::string& bytes) {
  return minilm::safetensors_file::from_buffer(
      {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, "'test.safetensors'");
}

// The error a one-tensor file gets when `entry` describes tensor "x" and `data_bytes`
// bytes follow the header.
std::optional<minilm::error> entry_error(const std::string& entry, std::size_t data_bytes = 16) {
  const std::string bytes = safetensors_builder::assemble("{\"x\":" + entry + "}", std::string(data_bytes, '\0'));
  return error_of([&] { parse(bytes); });
}

}  // namespace

TEST_CASE("a model file cut at every byte of its header and at points of its data is refused with the offset") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir / "m");
  const std::string whole = malformed::read_whole(dir / "m" / "model.safetensors");
  const std::size_t data_start = 8 + header_length(whole);
  REQUIRE(data_start < whole.size());

  std::vector<std::size_t> cuts;
  for (std::size_t cut = 0; cut <= data_start; ++cut) cuts.push_back(cut);
  for (std::size_t cut : {data_start + 1, data_start + 4, data_start + 5, (data_start + whole.size()) / 2,
                          whole.size() - 4, whole.size() - 1}) {
    cuts.push_back(cut);
  }
  for (const std::size_t cut : cuts) {
    CAPTURE(cut);
    // A private copy of exactly `cut` bytes: reading past it is an ASan report.
    std::vector<std::byte> copy(cut);
    if (cut != 0) std::memcpy(copy.data(), whole.data(), cut);
    const auto e = error_of([&] { minilm::safetensors_file::from_buffer(copy, "'model.safetensors'"); });
    if (cut < 8) {
      check_error(e, errc::invalid_safetensors, {"'model.safetensors'", std::to_string(cut) + " bytes", "8-byte header length"});
    } else if (cut < data_start) {
      check_error(e, errc::invalid_safetensors, {"'model.safetensors'", "(bytes 0-7) runs past the end of the " + std::to_string(cut) + "-byte file"});
    } else {
      check_error(e, errc::invalid_safetensors,
                  {"'model.safetensors'", "data region (from byte " + std::to_string(data_start) + ") holds " +
                                              std::to_string(cut - data_start), "file truncated"});
    }
  }

  // The same through the folder, with the path in the message.
  for (const std::size_t cut : {std::size_t{3}, data_start - 1, data_start + 5, whole.size() - 1}) {
    CAPTURE(cut);
    write_file(dir / "m" / "model.safetensors", whole.substr(0, cut));
    check_error(error_of([&] { load_folder(dir / "m"); }), errc::invalid_safetensors,
                {(dir / "m" / "model.safetensors").string()});
  }
}

TEST_CASE("header length 7") {
  SUBCASE("holding 7 bytes that are not a safetensors header") {
    check_error(error_of([] { parse(safetensors_builder::length_prefix(7) + R"({"a":1})"); }), errc::invalid_safetensors,
                {"field 'a'", "tensor entry must be an object"});
  }
  SUBCASE("in a file that ends before the 7 bytes") {
    check_error(error_of([] { parse(safetensors_builder::length_prefix(7) + "{}"); }), errc::invalid_safetensors,
                {"header length 7 (bytes 0-7) runs past the end of the 10-byte file"});
  }
  SUBCASE("holding an empty header: a valid file with no tensors") {
    CHECK(parse(safetensors_builder::length_prefix(7) + "{}     ").tensors().empty());
  }
}

TEST_CASE("floats left unaligned by the header length or an odd-sized tensor are copied, not read in place") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir / "aligned");
  test_support::write_tiny_bert_folder(dir / "unaligned");
  // Re-pad the same header to a length of 8k + 7: every tensor then starts at an odd address.
  const std::string whole = malformed::read_whole(dir / "aligned" / "model.safetensors");
  const std::size_t n = header_length(whole);
  std::string header = whole.substr(8, n);
  while (header.back() == ' ') header.pop_back();
  write_file(dir / "unaligned" / "model.safetensors", with_header_remainder(header, whole.substr(8 + n), 7));

  const auto folder = minilm::read_model_folder(dir / "unaligned");
  const auto file = minilm::safetensors_file::open(folder.weights);
  const auto& word = file.at("embeddings.word_embeddings.weight");
  CHECK_FALSE(word.f32_in_place());
  check_error(error_of([&] { word.f32(); }), errc::invalid_tensor, {"'embeddings.word_embeddings.weight'", "not aligned"});

  const auto weights = minilm::bind_bert_weights(file, folder.config);
  const auto reference_file = minilm::safetensors_file::open(dir / "aligned" / "model.safetensors");
  const auto reference = minilm::bind_bert_weights(reference_file, folder.config);
  CHECK(reference.converted_bytes == 0);
  std::size_t bound_floats = 0;
  for (const auto& t : reference_file.tensors()) {
    if (t.type() == minilm::dtype::f32 && t.name().rfind("pooler.", 0) != 0) bound_floats += t.n_elements();
  }
  CHECK(weights.converted_bytes == 4 * bound_floats);
  const tiny_bert m;
  CHECK(std::memcmp(weights.word_embeddings, reference.word_embeddings, sizeof(float) * m.vocab * m.hidden) == 0);
  CHECK(std::memcmp(weights.layers[1].output.weight, reference.layers[1].output.weight,
                    sizeof(float) * m.hidden * m.intermediate) == 0);

  // One byte of U8 before a float tensor does the same with a header padded as usual.
  const std::string odd_bytes = safetensors_builder().add_raw("flag", "U8", {1}, "\x01").add_f32("w", {2}, 1.5f)
                                    .add_raw("pad", "U8", {3}, "abc").build();
  const auto odd = parse(odd_bytes);  // views point into odd_bytes
  CHECK_FALSE(odd.at("w").f32_in_place());
  CHECK(odd.at("w").to_f32() == std::vector<float>{1.5f, 1.501f});
}

TEST_CASE("an empty F32 tensor converts to an empty vector") {
  // Found by fuzzing: the copy passed the empty vector's null data() to memcpy.
  const std::string bytes = safetensors_builder().add_f32("empty", {0, 4}).add_f32("w", {1}, 2.0f).build();
  const auto file = parse(bytes);
  CHECK(file.at("empty").to_f32().empty());
  CHECK(file.at("w").to_f32() == std::vector<float>{2.0f});
}

TEST_CASE("more headers that are not safetensors headers") {
  SUBCASE("bytes after the JSON object") {
    check_error(error_of([] { parse(safetensors_builder::assemble("{} x", "")); }), errc::invalid_safetensors,
                {"'test.safetensors' header", "not valid JSON"});
  }
  SUBCASE("padded with NUL bytes instead of spaces") {
    check_error(error_of([] { parse(safetensors_builder::length_prefix(8) + std::string("{}\0\0\0\0\0\0", 8)); }),
                errc::invalid_safetensors, {"'test.safetensors' header", "not valid JSON"});
  }
  SUBCASE("a NUL byte inside a tensor name") {
    const std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
    check_error(error_of([&] { parse(safetensors_builder::assemble(std::string("{\"a\0b\":", 7) + entry + "}", std::string(4, '\0'))); }),
                errc::invalid_safetensors, {"'test.safetensors' header", "not valid JSON"});
  }
  SUBCASE("__metadata__ twice") {
    check_error(error_of([] { parse(safetensors_builder::assemble(R"({"__metadata__":{},"__metadata__":{}})", "")); }),
                errc::invalid_safetensors, {"key '__metadata__' appears more than once"});
  }
  SUBCASE("metadata holding an object") {
    check_error(error_of([] { parse(safetensors_builder::assemble(R"({"__metadata__":{"a":{"b":"c"}}})", "")); }),
                errc::invalid_safetensors, {"field '__metadata__.a'", "metadata values must be strings, found an object"});
  }
  SUBCASE("more tensors than the limit") {
    const std::string bytes = safetensors_builder().add_f32("a", {1}).add_f32("b", {1}).add_f32("c", {1}).build();
    minilm::safetensors_limits limits;
    limits.max_tensors = 2;
    check_error(error_of([&] {
                  minilm::safetensors_file::from_buffer({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()},
                                                        "'test.safetensors'", limits);
                }),
                errc::invalid_safetensors, {"3 tensors, more than the limit of 2"});
  }
}

TEST_CASE("more tensor entries that break the rules") {
  struct bad_entry {
    std::string what;
    std::string entry;
    std::size_t data_bytes;
    std::vector<std::string> needles;
  };
  const bad_entry cases[] = {
      {"dtype not a string", R"({"dtype":5,"shape":[4],"data_offsets":[0,16]})", 16, {"field 'x'", "no string 'dtype'"}},
      {"lowercase dtype", R"({"dtype":"f32","shape":[4],"data_offsets":[0,16]})", 16, {"field 'x.dtype'", "unknown dtype 'f32'"}},
      {"shape not an array", R"({"dtype":"F32","shape":4,"data_offsets":[0,16]})", 16, {"no array 'shape'"}},
      {"dimension as a string", R"({"dtype":"F32","shape":["4"],"data_offsets":[0,16]})", 16, {"field 'x.shape[0]'", "not a non-negative integer"}},
      {"dimension beyond int64", R"({"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,16]})", 16, {"field 'x.shape[0]'", "not a non-negative integer"}},
      {"dimension beyond uint64", R"({"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,16]})", 16, {"'test.safetensors' header"}},
      {"shape in the billions", R"({"dtype":"F32","shape":[4000000000],"data_offsets":[0,16]})", 16,
       {"field 'x.data_offsets'", "needs 16000000000 bytes but its offsets span 16"}},
      {"shape in the billions, offsets to match, 16 bytes of data",
       R"({"dtype":"F32","shape":[4000000000],"data_offsets":[0,16000000000]})", 16,
       {"tensors cover 16000000000 bytes of data but the data region (from byte 88) holds 16 (file truncated?)"}},
      {"offsets at 2^64 - 1", R"({"dtype":"F32","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]})", 0,
       {"'x' starts at data offset 18446744073709551615 but the previous tensor ends at 0 (gap)"}},
      {"offsets as floats", R"({"dtype":"F32","shape":[4],"data_offsets":[0.0,16.0]})", 16, {"field 'x.data_offsets[0]'", "not a non-negative integer"}},
      {"offsets missing", R"({"dtype":"F32","shape":[4]})", 16, {"no array 'data_offsets'"}},
      {"three offsets", R"({"dtype":"F32","shape":[4],"data_offsets":[0,8,16]})", 16, {"needs exactly [begin, end]"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    check_error(entry_error(c.entry, c.data_bytes), errc::invalid_safetensors,
                std::initializer_list<std::string>{"'test.safetensors'"});
    const auto e = entry_error(c.entry, c.data_bytes);
    for (const auto& n : c.needles) {
      INFO("message: " << std::string(e->what()));
      CHECK(std::string(e->what()).find(n) != std::string::npos);
    }
  }
}

namespace {

using malformed::folder_case;

void check_folder_cases(const std::vector<folder_case>& cases) {
  malformed::check_folder_cases(cases, [](const fs::path& dir) { load_folder(dir); });
}

std::string config_with(const std::string& from, const std::string& to) {
  std::string s = test_support::tiny_bert_config_json(tiny_bert{});
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("config.json with sizes that are zero, negative, huge or inconsistent") {
  check_folder_cases({
      {"empty", "config.json", "", errc::invalid_json, {"not valid JSON"}},
      {"a string", "config.json", "\"bert\"", errc::invalid_config, {"expected an object, found a string"}},
      {"nested 10,000 deep", "config.json", std::string(10000, '[') + std::string(10000, ']'), errc::invalid_json, {"not valid JSON"}},
      {"no vocabulary", "config.json", config_with("\"vocab_size\":16", "\"vocab_size\":0"), errc::invalid_config, {"field 'vocab_size'", "value 0 is outside"}},
      {"no layers", "config.json", config_with("\"num_hidden_layers\":2", "\"num_hidden_layers\":0"), errc::invalid_config, {"field 'num_hidden_layers'"}},
      {"no heads", "config.json", config_with("\"num_attention_heads\":2", "\"num_attention_heads\":0"), errc::invalid_config, {"field 'num_attention_heads'", "value 0 is outside"}},
      {"negative intermediate size", "config.json", config_with("\"intermediate_size\":12", "\"intermediate_size\":-12"), errc::invalid_config, {"field 'intermediate_size'", "value -12"}},
      {"no token types", "config.json", config_with("\"type_vocab_size\":2", "\"type_vocab_size\":0"), errc::invalid_config, {"field 'type_vocab_size'"}},
      {"one position: no room for [CLS] and [SEP]", "config.json", config_with("\"max_position_embeddings\":10", "\"max_position_embeddings\":1"), errc::invalid_config, {"field 'max_position_embeddings'", "value 1 is outside the allowed range [2, "}},
      {"max positions in the billions", "config.json", config_with("\"max_position_embeddings\":10", "\"max_position_embeddings\":2000000000"), errc::invalid_config, {"field 'max_position_embeddings'"}},
      {"vocabulary in the billions", "config.json", config_with("\"vocab_size\":16", "\"vocab_size\":3000000000"), errc::invalid_config, {"field 'vocab_size'"}},
      {"hidden size 2^40", "config.json", config_with("\"hidden_size\":8", "\"hidden_size\":1099511627776"), errc::invalid_config, {"field 'hidden_size'"}},
      {"more layers than any model", "config.json", config_with("\"num_hidden_layers\":2", "\"num_hidden_layers\":100000"), errc::invalid_config, {"field 'num_hidden_layers'"}},
      {"more heads than hidden units", "config.json", config_with("\"num_attention_heads\":2", "\"num_attention_heads\":16"), errc::invalid_config, {"field 'num_attention_heads'", "does not divide hidden_size (8)"}},
      {"pad token outside the vocabulary", "config.json", config_with("\"pad_token_id\":0", "\"pad_token_id\":16"), errc::invalid_config, {"field 'pad_token_id'"}},
      {"layer_norm_eps zero", "config.json", config_with("\"layer_norm_eps\":1e-12", "\"layer_norm_eps\":0"), errc::invalid_config, {"field 'layer_norm_eps'", "must be in (0, 1)"}},
      {"layer_norm_eps a string", "config.json", config_with("\"layer_norm_eps\":1e-12", "\"layer_norm_eps\":\"small\""), errc::invalid_config, {"field 'layer_norm_eps'", "expected a number"}},
      // Sizes that contradict the weights: the message names model.safetensors and the tensor.
      {"vocabulary that contradicts the weights", "config.json", config_with("\"vocab_size\":16", "\"vocab_size\":30522"), errc::invalid_tensor, {"model.safetensors': tensor 'embeddings.word_embeddings.weight' (F32 [16, 8]) should have shape [30522, 8] according to config.json"}, "model.safetensors"},
      {"token types that contradict the weights", "config.json", config_with("\"type_vocab_size\":2", "\"type_vocab_size\":3"), errc::invalid_tensor, {"'embeddings.token_type_embeddings.weight' (F32 [2, 8]) should have shape [3, 8]"}, "model.safetensors"},
      {"positions that contradict the weights", "config.json", config_with("\"max_position_embeddings\":10", "\"max_position_embeddings\":512"), errc::invalid_tensor, {"'embeddings.position_embeddings.weight' (F32 [10, 8]) should have shape [512, 8]"}, "model.safetensors"},
  });
}

TEST_CASE("RoBERTa-family configs whose pad_token_id or model_type do not fit the weights") {
  // The tiny folder has 10 position rows and max_seq_length 10 in sentence_bert_config.json.
  const std::string xlmr = "\"model_type\":\"xlm-roberta\"";
  auto xlmr_with = [&](const std::string& pad) {
    std::string s = config_with("\"model_type\":\"bert\"", xlmr);
    const auto at = s.find("\"pad_token_id\":0");
    return s.replace(at, 16, pad);
  };
  std::string twelve_positions = xlmr_with("\"pad_token_id\":1");
  twelve_positions.replace(twelve_positions.find("\"max_position_embeddings\":10"), 28, "\"max_position_embeddings\":12");
  check_folder_cases({
      {"a model_type minilm does not run", "config.json", config_with("\"model_type\":\"bert\"", "\"model_type\":\"distilbert\""), errc::unsupported, {"field 'model_type'", "'distilbert' is not supported (bert, xlm-roberta, roberta, camembert)"}},
      {"a model_type that is not a string", "config.json", config_with("\"model_type\":\"bert\"", "\"model_type\":7"), errc::invalid_config, {"field 'model_type'", "expected a string"}},
      {"pad_token_id past the positions", "config.json", xlmr_with("\"pad_token_id\":9"), errc::invalid_config, {"field 'pad_token_id'", "pad_token_id + 1 = 10", "leaves 0 of the max_position_embeddings (10) positions"}},
      {"pad_token_id leaving one position", "config.json", xlmr_with("\"pad_token_id\":8"), errc::invalid_config, {"field 'pad_token_id'", "leaves 1 of"}},
      {"pad_token_id outside the vocabulary", "config.json", xlmr_with("\"pad_token_id\":16"), errc::invalid_config, {"field 'pad_token_id'", "value 16 is outside the allowed range [0, 15]"}},
      {"pad_token_id negative", "config.json", xlmr_with("\"pad_token_id\":-1"), errc::invalid_config, {"field 'pad_token_id'"}},
      {"pad_token_id null", "config.json", xlmr_with("\"pad_token_id\":null"), errc::invalid_config, {"field 'pad_token_id'", "cannot be null"}},
      // Positions from pad_token_id + 1 = 1 leave 9 of the 10 rows: the folder's max_seq_length 10 no longer fits.
      {"max_seq_length that the offset pushes past the table", "config.json", xlmr_with("\"pad_token_id\":0"), errc::invalid_config, {"field 'max_seq_length'", "value 10 is outside the allowed range [2, 9]", "positions 1 to 9 of the 10"}, "sentence_bert_config.json"},
      // 12 positions from 2 hold the 10 tokens, but the file has only 10 rows.
      {"a position table without the offset's rows", "config.json", twelve_positions, errc::invalid_tensor, {"'embeddings.position_embeddings.weight' (F32 [10, 8]) should have shape [12, 8]"}, "model.safetensors"},
  });
}

TEST_CASE("a config.json far larger than any config is refused before it is read") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path());
  // A sparse file: 65 MiB that take no disk space and must not be read into memory.
  const fs::path config = dir / "config.json";
  fs::resize_file(config, 65u << 20);
  check_error(error_of([&] { load_folder(dir.path()); }), errc::invalid_argument,
              {config.string(), "68157440 bytes, more than the 67108864 bytes allowed"});
  fs::remove(config);
  fs::create_directory(config);
  check_error(error_of([&] { load_folder(dir.path()); }), errc::io, {config.string()});
}

TEST_CASE("modules.json, the pooling config and sentence_bert_config.json, malformed") {
  const std::string transformer = R"({"path":"","type":"sentence_transformers.models.Transformer"})";
  const std::string pooling = R"({"path":"1_Pooling","type":"sentence_transformers.models.Pooling"})";
  check_folder_cases({
      {"modules.json not an array", "modules.json", "{}", errc::invalid_config, {"expected an array, found an object"}},
      {"a module that is not an object", "modules.json", "[" + transformer + ",1]", errc::invalid_config, {"field '[1]'", "expected an object"}},
      {"a module without a type", "modules.json", "[" + transformer + R"(,{"path":"1_Pooling"}])", errc::invalid_config, {"missing required field 'type'"}},
      {"a module type that is not a string", "modules.json", "[" + transformer + R"(,{"type":7}])", errc::invalid_config, {"field '[1].type'", "expected a string"}},
      {"no Transformer", "modules.json", "[" + pooling + "]", errc::unsupported, {"no sentence_transformers.models.Transformer module"}},
      {"two Transformers", "modules.json", "[" + transformer + "," + transformer + "]", errc::unsupported, {"field '[1]'", "only one Transformer"}},
      {"a Pooling path that is absolute", "modules.json", "[" + transformer + R"(,{"path":"/etc","type":"sentence_transformers.models.Pooling"}])", errc::invalid_config, {"field '[1].path'", "subfolder"}},
      {"a Pooling path without a path", "modules.json", "[" + transformer + R"(,{"type":"sentence_transformers.models.Pooling"}])", errc::invalid_config, {"field '[1]'", "missing required field 'path'"}},
      {"pooling config not JSON", "1_Pooling/config.json", "{\"word_embedding_dimension\":", errc::invalid_json, {"not valid JSON"}},
      {"pooling without a dimension", "1_Pooling/config.json", R"({"pooling_mode_mean_tokens":true})", errc::invalid_config, {"missing required field 'word_embedding_dimension'"}},
      {"pooling with a negative dimension", "1_Pooling/config.json", R"({"word_embedding_dimension":-8,"pooling_mode_mean_tokens":true})", errc::invalid_config, {"field 'word_embedding_dimension'"}},
      {"pooling flag that is not a boolean", "1_Pooling/config.json", R"({"word_embedding_dimension":8,"pooling_mode_mean_tokens":"yes"})", errc::invalid_config, {"field 'pooling_mode_mean_tokens'", "expected true or false"}},
      {"max_seq_length 1", "sentence_bert_config.json", R"({"max_seq_length":1})", errc::invalid_config, {"field 'max_seq_length'", "value 1 is outside"}},
      {"max_seq_length negative", "sentence_bert_config.json", R"({"max_seq_length":-256})", errc::invalid_config, {"field 'max_seq_length'"}},
      {"max_seq_length in the billions", "sentence_bert_config.json", R"({"max_seq_length":4000000000})", errc::invalid_config, {"field 'max_seq_length'"}},
      {"do_lower_case a string", "sentence_bert_config.json", R"({"do_lower_case":"no"})", errc::invalid_config, {"field 'do_lower_case'"}},
  });
}

TEST_CASE("a Pooling module whose folder has no config.json names the missing file") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path());
  fs::remove(dir / "1_Pooling" / "config.json");
  check_error(error_of([&] { load_folder(dir.path()); }), errc::io, {(dir / "1_Pooling" / "config.json").string()});
}

TEST_CASE("the command-line tool reports a broken folder on stderr and exits with 1") {
  if (malformed::cli_path() == nullptr) {
    MESSAGE("skipped: the minilm tool was not built (-Dexamples=disabled)");
    return;
  }
  test_support::temp_dir dir;
  struct broken {
    std::string what;
    std::function<void(const fs::path&)> breakage;
    std::string needle;
  };
  const broken cases[] = {
      {"truncated weights", [](const fs::path& d) {
         const std::string w = malformed::read_whole(d / "model.safetensors");
         write_file(d / "model.safetensors", w.substr(0, w.size() / 2));
       }, "model.safetensors"},
      {"weights shorter than 8 bytes", [](const fs::path& d) { write_file(d / "model.safetensors", "abc"); }, "model.safetensors"},
      {"config.json not JSON", [](const fs::path& d) { write_file(d / "config.json", "{"); }, "config.json"},
      {"a size that contradicts the weights", [](const fs::path& d) {
         write_file(d / "config.json", config_with("\"intermediate_size\":12", "\"intermediate_size\":1536"));
       }, "'encoder.layer.0.intermediate.dense.weight'"},
      {"pooling config of another size", [](const fs::path& d) {
         write_file(d / "1_Pooling" / "config.json", R"({"word_embedding_dimension":384,"pooling_mode_mean_tokens":true})");
       }, "word_embedding_dimension (384) differs from hidden_size (8)"},
      {"no folder at all", [](const fs::path& d) { fs::remove_all(d); }, "not a directory"},
  };
  int i = 0;
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const fs::path folder = dir / std::to_string(i++);
    test_support::write_tiny_bert_folder(folder);
    c.breakage(folder);
    const auto r = malformed::run_cli({"info", "--model", folder.string()});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("minilm: ", 0) == 0);
    CHECK(r.err.find(c.needle) != std::string::npos);
    CHECK(r.err.find(folder.string()) != std::string::npos);
  }
}

TEST_CASE("an id outside the vocabulary names its sequence as the text index, and its position there") {
  const auto model = minilm::encoder::load(test_support::model_dir());
  const std::vector<std::int32_t> ids = {101, 7592, 102, 101, 99999, 102};
  const std::vector<std::size_t> offsets = {0, 3, 6};
  const auto e = error_of([&] { model.encode_ids(ids, offsets); });
  check_error(e, errc::invalid_argument, {"minilm: text 1: ", "id 99999 at position 1 of sequence 1"});
  CHECK(e->text_index() == std::optional<std::size_t>(1));

  // Offsets that do not end at the number of ids are about no one sequence: no index.
  const std::vector<std::size_t> short_offsets = {0, 3, 5};
  const auto whole = error_of([&] { model.encode_ids(ids, short_offsets); });
  check_error(whole, errc::invalid_argument, {"offsets must start at 0 and end at the number of ids (6)"});
  CHECK_FALSE(whole->text_index().has_value());
}
