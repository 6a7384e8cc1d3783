// Reading a model folder: the real all-MiniLM-L6-v2, and small folders that vary one
// thing at a time.
#include <doctest/doctest.h>

#include <minilm/model_folder.hpp>
#include <minilm/weights.hpp>

#include <algorithm>
#include <vector>

#include "support.hpp"

using minilm::errc;
using test_support::tiny_bert;
using test_support::write_file;

namespace {

// The error reading (and binding) a folder gets; fails the test if it loads.
minilm::error load_error(const std::filesystem::path& dir) {
  try {
    const auto folder = minilm::read_model_folder(dir);
    const auto file = minilm::safetensors_file::open(folder.weights);
    minilm::bind_bert_weights(file, folder.config);
  } catch (const minilm::error& e) {
    return e;
  }
  FAIL("the folder loaded");
  return minilm::error(errc::io, "");
}

// The pooling config's path inside a folder, as the messages spell it (with '\\' on Windows).
const std::string pooling_config = (std::filesystem::path("1_Pooling") / "config.json").string();

void check_message(const minilm::error& e, errc code, std::initializer_list<std::string> needles) {
  INFO("message: " << std::string(e.what()));
  CHECK(e.code() == code);
  for (const auto& n : needles) CHECK(std::string(e.what()).find(n) != std::string::npos);
}

}  // namespace

TEST_CASE("the real all-MiniLM-L6-v2 folder loads and its weights match its config") {
  const auto folder = minilm::read_model_folder(test_support::model_dir());
  const auto& c = folder.config;
  CHECK(c.vocab_size == 30522);
  CHECK(c.hidden_size == 384);
  CHECK(c.n_layers == 6);
  CHECK(c.n_heads == 12);
  CHECK(c.head_size() == 32);
  CHECK(c.intermediate_size == 1536);
  CHECK(c.max_position_embeddings == 512);
  CHECK(c.type_vocab_size == 2);
  CHECK(c.layer_norm_eps == 1e-12);
  CHECK(folder.pooling.mode == minilm::pooling_mode::mean);
  CHECK(folder.pooling.dimension == 384);
  CHECK(folder.normalize);
  CHECK(folder.max_seq_length == 256);  // sentence_bert_config.json, not tokenizer.json's 128
  CHECK_FALSE(folder.do_lower_case);
  CHECK_FALSE(folder.tokenizer_json.empty());
  CHECK_FALSE(folder.vocab_txt.empty());
  CHECK_FALSE(folder.tokenizer_config_json.empty());

  const auto file = minilm::safetensors_file::open(folder.weights);
  CHECK(file.tensors().size() == 104);
  CHECK(file.size_bytes() == 90'868'376);
  CHECK(file.metadata().at("format") == "pt");
  CHECK(file.at("embeddings.position_ids").type() == minilm::dtype::i64);

  const auto w = minilm::bind_bert_weights(file, c);
  CHECK(w.prefix.empty());
  CHECK(w.layers.size() == 6);
  CHECK(w.converted_bytes == 0);  // all F32: used in place
  CHECK(w.word_embeddings == file.at("embeddings.word_embeddings.weight").f32());
  CHECK(w.layers[5].output.n_in == 1536);
  CHECK(w.layers[5].output.weight == file.at("encoder.layer.5.output.dense.weight").f32());
}

TEST_CASE("bound weights keep their mapping: they stay readable after the safetensors_file is gone") {
  const auto folder = minilm::read_model_folder(test_support::model_dir());
  minilm::bert_weights w;
  std::vector<float> query, word;
  {
    const auto file = minilm::safetensors_file::open(folder.weights);
    w = minilm::bind_bert_weights(file, folder.config);
    query = file.at("encoder.layer.0.attention.self.query.weight").to_f32();
    word = file.at("embeddings.word_embeddings.weight").to_f32();
  }  // the file object is gone: only w holds the mapping now
  REQUIRE(w.converted_bytes == 0);  // the pointers below point into the mapping, not into copies
  CHECK(std::equal(query.begin(), query.end(), w.layers[0].query.weight));
  CHECK(std::equal(word.begin(), word.end(), w.word_embeddings));
}

TEST_CASE("a small folder loads, with and without the bert. prefix") {
  test_support::temp_dir dir;
  for (const std::string prefix : {"", "bert."}) {
    CAPTURE(prefix);
    tiny_bert m;
    m.prefix = prefix;
    const auto path = dir / ("model" + prefix);
    test_support::write_tiny_bert_folder(path, m);
    const auto folder = minilm::read_model_folder(path);
    const auto file = minilm::safetensors_file::open(folder.weights);
    const auto w = minilm::bind_bert_weights(file, folder.config);
    CHECK(w.prefix == prefix);
    CHECK(w.layers.size() == 2);
    CHECK(w.layers[1].intermediate.n_out == 12);
    CHECK(w.word_embeddings == file.at(prefix + "embeddings.word_embeddings.weight").f32());
  }
}

TEST_CASE("F16 and BF16 weights are converted, and the cost is reported") {
  test_support::temp_dir dir;
  for (const std::string dtype : {"F16", "BF16"}) {
    CAPTURE(dtype);
    tiny_bert m;
    m.dtype = dtype;
    test_support::write_tiny_bert_folder(dir / dtype, m);
    const auto folder = minilm::read_model_folder(dir / dtype);
    const auto file = minilm::safetensors_file::open(folder.weights);
    const auto w = minilm::bind_bert_weights(file, folder.config);
    std::size_t params = 0;
    for (const auto& t : file.tensors()) params += t.type() == minilm::dtype::i64 ? 0 : t.n_elements();
    const std::size_t pooler = 8 * 8 + 8;  // the pooler is never converted
    CHECK(w.converted_bytes == 4 * (params - pooler));
    CHECK(w.layers[0].query.weight[0] == (dtype == "F16" ? 1.0f : file.at("encoder.layer.0.attention.self.query.weight").to_f32()[0]));
  }
}

TEST_CASE("pooling modes and Normalize come from the folder") {
  test_support::temp_dir dir;
  const std::pair<const char*, minilm::pooling_mode> modes[] = {
      {"pooling_mode_mean_tokens", minilm::pooling_mode::mean},
      {"pooling_mode_cls_token", minilm::pooling_mode::cls},
      {"pooling_mode_max_tokens", minilm::pooling_mode::max},
      {"pooling_mode_mean_sqrt_len_tokens", minilm::pooling_mode::mean_sqrt_len},
  };
  for (const auto& [key, mode] : modes) {
    tiny_bert m;
    m.pooling = key;
    m.normalize = mode == minilm::pooling_mode::mean;
    const auto path = dir / key;
    test_support::write_tiny_bert_folder(path, m);
    const auto folder = minilm::read_model_folder(path);
    CHECK(folder.pooling.mode == mode);
    CHECK(folder.normalize == m.normalize);
  }

  SUBCASE("the layout of sentence-transformers 5 and later") {
    tiny_bert m;
    test_support::write_tiny_bert_folder(dir / "v5", m);
    write_file(dir / "v5" / "modules.json",
               R"([{"idx":0,"name":"0","path":"","type":"sentence_transformers.base.modules.transformer.Transformer"},)"
               R"({"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.sentence_transformer.modules.pooling.Pooling"},)"
               R"({"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.base.modules.normalize.Normalize"}])");
    write_file(dir / "v5" / "1_Pooling" / "config.json", R"({"embedding_dimension":8,"pooling_mode":"cls","include_prompt":true})");
    const auto folder = minilm::read_model_folder(dir / "v5");
    CHECK(folder.pooling.mode == minilm::pooling_mode::cls);
    CHECK(folder.normalize);
    write_file(dir / "v5" / "1_Pooling" / "config.json", R"({"embedding_dimension":8,"pooling_mode":["max"]})");
    CHECK(minilm::read_model_folder(dir / "v5").pooling.mode == minilm::pooling_mode::max);
  }
  SUBCASE("no mode at all means mean, as in sentence-transformers") {
    tiny_bert m;
    test_support::write_tiny_bert_folder(dir / "none", m);
    write_file(dir / "none" / "1_Pooling" / "config.json",
               R"({"word_embedding_dimension":8,"pooling_mode_cls_token":false,"pooling_mode_mean_tokens":false})");
    CHECK(minilm::read_model_folder(dir / "none").pooling.mode == minilm::pooling_mode::mean);
  }

  tiny_bert m;
  m.pooling = "pooling_mode_weightedmean_tokens";
  test_support::write_tiny_bert_folder(dir / "weighted", m);
  check_message(load_error(dir / "weighted"), errc::unsupported,
                {"field 'pooling_mode_weightedmean_tokens'", "pooling mode 'weightedmean' is not supported"});
}

TEST_CASE("weights that contradict config.json are rejected with the tensor's name") {
  test_support::temp_dir dir;
  SUBCASE("a missing tensor") {
    tiny_bert m;
    test_support::write_tiny_bert_folder(dir / "m", m);
    m.layers = 3;  // config says 3 layers, the file has 2
    write_file(dir / "m" / "config.json", test_support::tiny_bert_config_json(m));
    check_message(load_error(dir / "m"), errc::missing_tensor, {"model.safetensors", "'encoder.layer.2.attention.self.query.weight'"});
  }
  SUBCASE("more layers in the file than in the config") {
    tiny_bert m;
    test_support::write_tiny_bert_folder(dir / "m", m);
    m.layers = 1;
    write_file(dir / "m" / "config.json", test_support::tiny_bert_config_json(m));
    check_message(load_error(dir / "m"), errc::invalid_tensor, {"'encoder.layer.1.output.dense.weight'", "num_hidden_layers is 1"});
  }
  SUBCASE("a shape that differs") {
    tiny_bert m;
    test_support::write_tiny_bert_folder(dir / "m", m);
    m.intermediate = 16;
    write_file(dir / "m" / "config.json", test_support::tiny_bert_config_json(m));
    check_message(load_error(dir / "m"), errc::invalid_tensor,
                  {"'encoder.layer.0.intermediate.dense.weight' (F32 [12, 8]) should have shape [16, 8]"});
  }
  SUBCASE("a dtype the forward pass cannot use") {
    const auto path = dir / "m";
    test_support::write_tiny_bert_folder(path, tiny_bert{});
    test_support::safetensors_builder b;
    for (const auto& [name, shape] : test_support::tiny_bert_tensors(tiny_bert{})) {
      std::size_t n = 1;
      for (auto d : shape) n *= static_cast<std::size_t>(d);
      if (name == "embeddings.LayerNorm.weight") b.add_raw(name, "F64", shape, std::string(8 * n, '\0'));
      else b.add_f32(name, shape);
    }
    write_file(path / "model.safetensors", b.build());
    check_message(load_error(path), errc::invalid_tensor, {"'embeddings.LayerNorm.weight' (F64 [8])", "cannot use"});
  }
}

TEST_CASE("config.json values minilm cannot use are rejected with the field's name") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path(), tiny_bert{});
  const std::string good = test_support::tiny_bert_config_json(tiny_bert{});
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  struct bad_case {
    std::string json;
    errc code;
    std::vector<std::string> needles;
  };
  const bad_case cases[] = {
      {"{not json", errc::invalid_json, {"config.json", "not valid JSON"}},
      {"[]", errc::invalid_config, {"config.json", "expected an object"}},
      {replace("\"hidden_size\":8", "\"hidden_size\":0"), errc::invalid_config, {"field 'hidden_size'", "value 0 is outside"}},
      {replace("\"hidden_size\":8", "\"hidden_size\":-8"), errc::invalid_config, {"field 'hidden_size'"}},
      {replace("\"hidden_size\":8", "\"hidden_size\":\"8\""), errc::invalid_config, {"field 'hidden_size'", "expected an integer, found a string"}},
      {replace("\"hidden_size\":8,", ""), errc::invalid_config, {"missing required field 'hidden_size'"}},
      {replace("\"num_attention_heads\":2", "\"num_attention_heads\":3"), errc::invalid_config, {"does not divide hidden_size"}},
      {replace("\"max_position_embeddings\":10", "\"max_position_embeddings\":4000000000"), errc::invalid_config, {"field 'max_position_embeddings'"}},
      {replace("\"num_hidden_layers\":2", "\"num_hidden_layers\":99999999999999999999"), errc::invalid_config, {"config.json", "field 'num_hidden_layers'"}},
      {replace("\"vocab_size\":16", "\"vocab_size\":1e400"), errc::invalid_json, {"config.json"}},
      {replace("\"hidden_act\":\"gelu\"", "\"hidden_act\":\"relu\""), errc::unsupported, {"hidden_act 'relu'"}},
      {replace("\"position_embedding_type\":\"absolute\"", "\"position_embedding_type\":\"relative_key\""), errc::unsupported, {"relative_key"}},
      {replace("\"model_type\":\"bert\"", "\"model_type\":\"gpt2\""), errc::unsupported, {"field 'model_type'", "model_type 'gpt2' is not supported"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    write_file(dir / "config.json", c.json);
    check_message(load_error(dir.path()), c.code, {});
    const auto e = load_error(dir.path());
    for (const auto& n : c.needles) {
      INFO("message: " << e.what());
      CHECK(std::string(e.what()).find(n) != std::string::npos);
    }
  }
}

TEST_CASE("other files of the folder are checked too") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path(), tiny_bert{});
  SUBCASE("pooling dimension differs from hidden_size") {
    write_file(dir / "1_Pooling" / "config.json", R"({"word_embedding_dimension":9,"pooling_mode_mean_tokens":true})");
    check_message(load_error(dir.path()), errc::invalid_config, {pooling_config, "differs from hidden_size"});
  }
  SUBCASE("two pooling modes at once") {
    write_file(dir / "1_Pooling" / "config.json",
               R"({"word_embedding_dimension":8,"pooling_mode_mean_tokens":true,"pooling_mode_max_tokens":true})");
    check_message(load_error(dir.path()), errc::unsupported, {"2 pooling modes at once"});
  }
  SUBCASE("an unknown pooling mode") {
    write_file(dir / "1_Pooling" / "config.json", R"({"embedding_dimension":8,"pooling_mode":"median"})");
    check_message(load_error(dir.path()), errc::unsupported, {"field 'pooling_mode'", "unknown pooling mode 'median'"});
  }
  SUBCASE("an unknown module") {
    write_file(dir / "modules.json", R"([{"path":"","type":"sentence_transformers.models.Transformer"},{"path":"2_Dense","type":"sentence_transformers.models.Dense"}])");
    check_message(load_error(dir.path()), errc::unsupported, {"modules.json", "field '[1].type'", "models.Dense"});
  }
  SUBCASE("a pooling path that leaves the folder") {
    write_file(dir / "modules.json", R"([{"path":"","type":"sentence_transformers.models.Transformer"},{"path":"../x","type":"sentence_transformers.models.Pooling"}])");
    check_message(load_error(dir.path()), errc::invalid_config, {"modules.json", "subfolder"});
  }
  SUBCASE("max_seq_length beyond the position embeddings") {
    write_file(dir / "sentence_bert_config.json", R"({"max_seq_length":11})");
    check_message(load_error(dir.path()), errc::invalid_config, {"sentence_bert_config.json", "field 'max_seq_length'"});
  }
  SUBCASE("no weights") {
    std::filesystem::remove(dir / "model.safetensors");
    check_message(load_error(dir.path()), errc::io, {"has no model.safetensors"});
  }
  SUBCASE("no tokenizer") {
    std::filesystem::remove(dir / "vocab.txt");
    check_message(load_error(dir.path()), errc::io, {"has no tokenizer", "neither tokenizer.json, vocab.txt nor sentencepiece.bpe.model"});
  }
  SUBCASE("not a folder") {
    check_message(load_error(dir / "nowhere"), errc::io, {"nowhere", "not a directory"});
  }
}

TEST_CASE("without max_seq_length in sentence_bert_config.json: model_max_length capped at the positions, as sentence-transformers") {
  // sentence-transformers' Transformer module: max_seq_length = min(tokenizer.model_max_length,
  // config.max_position_embeddings) when sentence_bert_config.json does not say. The tiny
  // folder has 10 positions.
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path(), tiny_bert{});
  write_file(dir / "sentence_bert_config.json", R"({"do_lower_case":false})");
  auto max_seq_length = [&] { return minilm::read_model_folder(dir.path()).max_seq_length; };
  CHECK(max_seq_length() == 10);  // no tokenizer_config.json

  write_file(dir / "tokenizer_config.json", R"({"model_max_length":6})");
  CHECK(max_seq_length() == 6);
  write_file(dir / "tokenizer_config.json", R"({"model_max_length":512})");
  CHECK(max_seq_length() == 10);
  // transformers' "no limit", beyond int64
  write_file(dir / "tokenizer_config.json", R"({"model_max_length":1000000000000000019884624838656})");
  CHECK(max_seq_length() == 10);
  write_file(dir / "tokenizer_config.json", R"({"do_lower_case":true})");
  CHECK(max_seq_length() == 10);

  std::filesystem::remove(dir / "sentence_bert_config.json");
  write_file(dir / "tokenizer_config.json", R"({"model_max_length":8})");
  CHECK(max_seq_length() == 8);

  write_file(dir / "tokenizer_config.json", R"({"model_max_length":1})");
  check_message(load_error(dir.path()), errc::invalid_config, {"tokenizer_config.json", "model_max_length"});

  // sentence_bert_config.json wins when it says
  write_file(dir / "tokenizer_config.json", R"({"model_max_length":6})");
  write_file(dir / "sentence_bert_config.json", R"({"max_seq_length":9})");
  CHECK(max_seq_length() == 9);
}

TEST_CASE("RoBERTa-family configs: positions from pad_token_id + 1, one token type, roberta. tensor names") {
  // An XLM-RoBERTa config as transformers writes it: the same encoder as BERT, positions counted
  // from pad_token_id + 1, so 10 rows hold 8 tokens with pad_token_id 1.
  test_support::temp_dir dir;
  tiny_bert m;
  m.types = 1;
  test_support::write_tiny_bert_folder(dir.path(), m);
  auto xlmr_config = [&](const std::string& pad) {
    std::string c = test_support::tiny_bert_config_json(m);
    c.replace(c.find("\"model_type\":\"bert\""), 19, "\"model_type\":\"xlm-roberta\"");
    c.replace(c.find("\"pad_token_id\":0"), 16, pad);
    return c;
  };
  write_file(dir / "config.json", xlmr_config("\"pad_token_id\":1"));
  write_file(dir / "sentence_bert_config.json", R"({"do_lower_case":false})");

  const auto folder = minilm::read_model_folder(dir.path());
  CHECK(folder.config.model_type == "xlm-roberta");
  CHECK(folder.config.roberta_family());
  CHECK(folder.config.pad_token_id == 1);
  CHECK(folder.config.position_offset == 2);
  CHECK(folder.config.max_tokens() == 8);
  CHECK(folder.config.type_vocab_size == 1);
  CHECK(folder.max_seq_length == 8);  // min(no model_max_length, 10 positions), capped at the 8 usable
  write_file(dir / "tokenizer_config.json", R"({"model_max_length":512})");
  CHECK(minilm::read_model_folder(dir.path()).max_seq_length == 8);
  write_file(dir / "tokenizer_config.json", R"({"model_max_length":6})");
  CHECK(minilm::read_model_folder(dir.path()).max_seq_length == 6);

  // transformers' default pad_token_id is 1 for the family, 0 for BERT.
  write_file(dir / "config.json", xlmr_config("\"architectures\":[]"));
  CHECK(minilm::read_model_folder(dir.path()).config.position_offset == 2);
  for (const char* type : {"roberta", "camembert"}) {
    std::string c = xlmr_config("\"pad_token_id\":3");
    c.replace(c.find("xlm-roberta"), 11, type);
    write_file(dir / "config.json", c);
    CHECK(minilm::read_model_folder(dir.path()).config.position_offset == 4);
  }
  CHECK(minilm::read_bert_config(dir / "config.json").max_tokens() == 6);

  SUBCASE("an explicit max_seq_length beyond the usable positions names sentence_bert_config.json") {
    write_file(dir / "config.json", xlmr_config("\"pad_token_id\":1"));
    write_file(dir / "sentence_bert_config.json", R"({"max_seq_length":9})");
    check_message(load_error(dir.path()), errc::invalid_config,
                  {"sentence_bert_config.json", "field 'max_seq_length'", "value 9 is outside the allowed range [2, 8]",
                   "positions 2 to 9 of the 10", "pad_token_id 1"});
  }
  SUBCASE("a pad_token_id that leaves fewer than 2 positions") {
    write_file(dir / "config.json", xlmr_config("\"pad_token_id\":8"));
    check_message(load_error(dir.path()), errc::invalid_config,
                  {"config.json", "field 'pad_token_id'", "pad_token_id + 1 = 9", "leaves 1 of the max_position_embeddings (10)"});
  }
  SUBCASE("a null pad_token_id") {
    write_file(dir / "config.json", xlmr_config("\"pad_token_id\":null"));
    check_message(load_error(dir.path()), errc::invalid_config, {"config.json", "field 'pad_token_id'", "cannot be null"});
  }
  SUBCASE("the family's roberta. prefix binds; BERT's bert. prefix contradicts the model_type") {
    for (const std::string prefix : {"roberta.", "bert."}) {
      CAPTURE(prefix);
      tiny_bert p = m;
      p.prefix = prefix;
      test_support::write_tiny_bert_folder(dir / prefix, p);
      write_file(dir / prefix / "config.json", xlmr_config("\"pad_token_id\":1"));
      write_file(dir / prefix / "sentence_bert_config.json", R"({"max_seq_length":8})");
      if (prefix == "roberta.") {
        const auto f = minilm::read_model_folder(dir / prefix);
        const auto file = minilm::safetensors_file::open(f.weights);
        CHECK(minilm::bind_bert_weights(file, f.config).prefix == "roberta.");
      } else {
        check_message(load_error(dir / prefix), errc::invalid_tensor,
                      {"model.safetensors", "'bert.embeddings.word_embeddings.weight'", "model_type 'xlm-roberta'"});
      }
    }
    // And the other way round: roberta. tensors under model_type bert.
    tiny_bert p = m;
    p.prefix = "roberta.";
    test_support::write_tiny_bert_folder(dir / "bert-with-roberta-names", p);
    check_message(load_error(dir / "bert-with-roberta-names"), errc::invalid_tensor,
                  {"'roberta.embeddings.word_embeddings.weight'", "model_type 'bert'"});
  }
  SUBCASE("one token type against a table of two") {
    tiny_bert two = m;
    two.types = 2;
    test_support::write_tiny_bert_folder(dir / "two", two);
    write_file(dir / "two" / "config.json", xlmr_config("\"pad_token_id\":1"));
    write_file(dir / "two" / "sentence_bert_config.json", R"({"max_seq_length":8})");
    check_message(load_error(dir / "two"), errc::invalid_tensor,
                  {"'embeddings.token_type_embeddings.weight' (F32 [2, 8]) should have shape [1, 8]"});
  }
}

TEST_CASE("prompts: config_sentence_transformers.json, and include_prompt in either pooling layout") {
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir.path(), tiny_bert{});
  const auto none = minilm::read_model_folder(dir.path());
  CHECK(none.prompts.empty());
  CHECK_FALSE(none.default_prompt_name.has_value());
  CHECK(none.pooling.include_prompt);

  write_file(dir / "config_sentence_transformers.json",
             R"({"__version__":{"sentence_transformers":"6.2.0"},"prompts":{"query":"query: ","passage":"passage: ","empty":null},)"
             R"("default_prompt_name":"query","similarity_fn_name":"cosine"})");
  const auto with = minilm::read_model_folder(dir.path());
  REQUIRE(with.prompts.size() == 3);
  CHECK(with.prompts[0].name == "query");
  CHECK(with.prompts[0].text == "query: ");
  CHECK(with.prompts[1].name == "passage");
  CHECK(with.prompts[1].text == "passage: ");
  CHECK(with.prompts[2].text.empty());  // null reads as ""
  CHECK(with.default_prompt_name == "query");

  // sentence-transformers knows "query" and "document" even when the file does not list them.
  write_file(dir / "config_sentence_transformers.json", R"({"prompts":{},"default_prompt_name":"document"})");
  CHECK(minilm::read_model_folder(dir.path()).default_prompt_name == "document");
  write_file(dir / "config_sentence_transformers.json", R"({"prompts":{"passage":"p: "},"default_prompt_name":"qurey"})");
  check_message(load_error(dir.path()), errc::invalid_config,
                {"config_sentence_transformers.json", "field 'default_prompt_name'", "'qurey' is not one of the prompts ('query', 'document', 'passage')"});
  write_file(dir / "config_sentence_transformers.json", R"({"prompts":{"query":7}})");
  check_message(load_error(dir.path()), errc::invalid_config,
                {"config_sentence_transformers.json", "field 'prompts.query'", "expected a string"});
  write_file(dir / "config_sentence_transformers.json", R"({"prompts":["query: "]})");
  check_message(load_error(dir.path()), errc::invalid_config, {"field 'prompts'", "expected an object"});
  std::filesystem::remove(dir / "config_sentence_transformers.json");

  write_file(dir / "1_Pooling" / "config.json", R"({"embedding_dimension":8,"pooling_mode":"mean","include_prompt":false})");
  CHECK_FALSE(minilm::read_model_folder(dir.path()).pooling.include_prompt);
  write_file(dir / "1_Pooling" / "config.json", R"({"word_embedding_dimension":8,"pooling_mode_mean_tokens":true,"include_prompt":false})");
  CHECK_FALSE(minilm::read_model_folder(dir.path()).pooling.include_prompt);
  write_file(dir / "1_Pooling" / "config.json", R"({"word_embedding_dimension":8,"pooling_mode_cls_token":true,"include_prompt":true})");
  CHECK(minilm::read_model_folder(dir.path()).pooling.include_prompt);
  write_file(dir / "1_Pooling" / "config.json", R"({"embedding_dimension":8,"include_prompt":"no"})");
  check_message(load_error(dir.path()), errc::invalid_config, {pooling_config, "field 'include_prompt'"});
}
