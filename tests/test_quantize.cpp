// int8 weights (minilm/quantize.hpp): the folder `minilm quantize` writes, its accuracy on the
// real all-MiniLM-L6-v2 against sentence-transformers' F32 embeddings (the goldens of
// tools/goldens/make_encoder_goldens.py), determinism, and int8 files that break the format's rules.
#include <doctest/doctest.h>

#include <minilm/encoder.hpp>
#include <minilm/quantize.hpp>
#include <minilm/safetensors.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <iomanip>
#include <map>
#include <string>
#include <vector>

#include "sha256.hpp"
#include "support.hpp"
#include "test_encoder_golden.hpp"
#include "test_malformed.hpp"

namespace {

namespace fs = std::filesystem;
using malformed::check_error;
using malformed::error_of;

// The accuracy gate: every text's int8 embedding against sentence-transformers' F32 one.
constexpr double min_median_cosine = 0.999;
constexpr double min_cosine = 0.99;

// model.safetensors of the published all-MiniLM-L6-v2: the sha256 the Hugging Face hub lists for
// sentence-transformers/all-MiniLM-L6-v2 (tools/setup/fetch_model.sh checks the same).
constexpr const char* published_sha256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";

std::string sha256_hex(std::string_view bytes) {
  minilm::detail::sha256 h;
  h.update(std::as_bytes(std::span(bytes.data(), bytes.size())));
  return h.hex();
}

// Every file under dir (relative path -> size and modification time), to show that nothing changed.
std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> listing(const fs::path& dir) {
  std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = {e.file_size(), e.last_write_time()};
  }
  return files;
}

std::vector<double> cosines(const float* got, const float* want, std::size_t n_rows, std::size_t dim) {
  std::vector<double> c(n_rows);
  for (std::size_t r = 0; r < n_rows; ++r) {
    double dot = 0, gg = 0, ww = 0;
    for (std::size_t j = 0; j < dim; ++j) {
      const double g = got[r * dim + j], w = want[r * dim + j];
      dot += g * w;
      gg += g * g;
      ww += w * w;
    }
    c[r] = dot / std::sqrt(gg * ww);
  }
  return c;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The real model's int8 folder, written once by the command-line tool (as a user would), in a
// folder that lives as long as the test process.
const fs::path& real_int8_folder() {
  static const test_support::temp_dir dir;
  static const fs::path folder = [] {
    const fs::path out = dir / "all-MiniLM-L6-v2-int8";
    if (malformed::cli_path() != nullptr) {
      const auto r = malformed::run_cli({"quantize", "--model", test_support::model_dir().string(), "--out", out.string()});
      INFO("stderr: " << r.err);
      REQUIRE(r.exit_code == 0);
    } else {
      minilm::quantize_model(test_support::model_dir(), out);
    }
    return out;
  }();
  return folder;
}

const minilm::encoder& real_int8_model(std::size_t n_threads) {
  // The folder first, so that it outlives the encoders that map it: Windows cannot remove a
  // folder holding a mapped file.
  const fs::path& folder = real_int8_folder();
  static std::map<std::size_t, minilm::encoder> models;
  auto it = models.find(n_threads);
  if (it == models.end()) {
    minilm::encoder_options o;
    o.n_threads = n_threads;
    it = models.emplace(n_threads, minilm::encoder::load(folder, o)).first;
  }
  return it->second;
}

}  // namespace

TEST_CASE("SHA-256 gives FIPS 180-4's example digests, whatever the pieces it is fed in") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string million(1'000'000, 'a');
  CHECK(sha256_hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // The same bytes fed in uneven pieces (across the 64-byte blocks and the 56-byte padding edge).
  minilm::detail::sha256 h;
  for (std::size_t at = 0, piece = 1; at < million.size(); at += piece, piece = piece * 7 % 127 + 1) {
    const std::size_t n = std::min(piece, million.size() - at);
    h.update(std::as_bytes(std::span(million.data() + at, n)));
  }
  CHECK(h.hex() == sha256_hex(million));
}

TEST_CASE("quantize_model writes a complete int8 folder and leaves the source untouched") {
  test_support::temp_dir dir;
  const fs::path source = dir / "model", out = dir / "int8";
  test_support::tiny_bert shape;
  shape.hidden = 8;
  shape.intermediate = 12;
  test_support::write_tiny_bert_folder(source, shape);
  test_support::write_file(source / ".gitattributes", "*.safetensors filter=lfs\n");
  test_support::write_file(source / "pytorch_model.bin", "another copy of the weights");
  fs::create_directories(source / "onnx");
  test_support::write_file(source / "onnx" / "model.onnx", "and another");
  const auto before = listing(source);

  minilm::quantize_options options;
  options.n_outliers = 2;
  const minilm::quantize_result r = minilm::quantize_model(source, out, options);
  CHECK(listing(source) == before);
  CHECK(r.weights == out / "model.safetensors");
  CHECK(r.n_quantized == 12);  // 6 linear layers in each of 2 layers
  CHECK(r.source_sha256 == sha256_hex(malformed::read_whole(source / "model.safetensors")));
  CHECK(r.n_files_copied == 5);  // config.json, modules.json, sentence_bert_config.json, vocab.txt, 1_Pooling/config.json
  for (const char* kept : {"config.json", "modules.json", "sentence_bert_config.json", "vocab.txt", "1_Pooling/config.json"}) {
    CHECK_MESSAGE(malformed::read_whole(out / kept) == malformed::read_whole(source / kept), kept);
  }
  for (const char* left : {".gitattributes", "pytorch_model.bin", "onnx", "model.safetensors.partial"}) {
    CHECK_MESSAGE(!fs::exists(out / left), left);
  }

  const auto f32 = minilm::safetensors_file::open(source / "model.safetensors");
  const auto int8 = minilm::safetensors_file::open(out / "model.safetensors");
  CHECK(r.bytes == int8.size_bytes());
  CHECK(int8.metadata().at("minilm.quantization") == "int8-per-channel");
  CHECK(int8.metadata().at("minilm.source_sha256") == r.source_sha256);
  CHECK(int8.metadata().at("format") == "pt");
  CHECK(int8.metadata().at("minilm.outliers_per_layer") == "2");
  // Each linear weight: two input channels (increasing) keep their F32 columns and hold 0 in q;
  // elsewhere q[j][p] * scale[j] is the F32 weight within half a step, and the largest |q| of a
  // row is 127. Every other tensor keeps its bytes.
  std::size_t n_int8 = 0;
  for (const minilm::tensor_view& t : f32.tensors()) {
    CAPTURE(t.name());
    const minilm::tensor_view& q = int8.at(t.name());
    CHECK(q.shape() == t.shape());
    const minilm::tensor_view* scale = int8.find(t.name() + "_scale");
    const bool linear = t.name().find("encoder.layer.") == 0 && t.name().find("LayerNorm") == std::string::npos &&
                        t.name().ends_with(".weight");
    REQUIRE((scale != nullptr) == linear);
    if (!linear) {
      CHECK(q.type() == t.type());
      CHECK(std::equal(q.bytes().begin(), q.bytes().end(), t.bytes().begin(), t.bytes().end()));
      continue;
    }
    ++n_int8;
    REQUIRE(q.type() == minilm::dtype::i8);
    REQUIRE(scale->shape() == std::vector<std::int64_t>{t.shape()[0]});
    const auto rows = static_cast<std::size_t>(t.shape()[0]), cols = static_cast<std::size_t>(t.shape()[1]);
    const std::string layer = t.name().substr(0, t.name().size() - 7);  // without ".weight"
    const minilm::tensor_view& index = int8.at(layer + ".outlier_index");
    const minilm::tensor_view& outlier_weight = int8.at(layer + ".outlier_weight");
    REQUIRE(index.type() == minilm::dtype::i32);
    REQUIRE(index.shape() == std::vector<std::int64_t>{2});
    REQUIRE(outlier_weight.shape() == std::vector<std::int64_t>{t.shape()[0], 2});
    std::int32_t channels[2];
    std::memcpy(channels, index.bytes().data(), sizeof channels);
    CHECK(0 <= channels[0]);
    CHECK(channels[0] < channels[1]);
    CHECK(channels[1] < t.shape()[1]);
    const float* w = t.f32();
    const auto* qi = reinterpret_cast<const std::int8_t*>(q.bytes().data());
    for (std::size_t j = 0; j < rows; ++j) {
      const float s = scale->f32()[j];
      int largest = 0;
      for (std::size_t p = 0; p < cols; ++p) {
        const auto o = std::find(channels, channels + 2, static_cast<std::int32_t>(p)) - channels;
        if (o < 2) {
          CHECK(qi[j * cols + p] == 0);
          CHECK(outlier_weight.f32()[j * 2 + static_cast<std::size_t>(o)] == w[j * cols + p]);
          continue;
        }
        CHECK(std::fabs(qi[j * cols + p] * s - w[j * cols + p]) <= 0.5f * s * 1.0001f);
        largest = std::max(largest, std::abs(int{qi[j * cols + p]}));
      }
      CHECK(largest == 127);
    }
  }
  CHECK(n_int8 == r.n_quantized);

  const minilm::encoder m = minilm::encoder::load(out);
  CHECK(m.precision() == minilm::weight_precision::int8);
  CHECK(minilm::encoder::load(source).precision() == minilm::weight_precision::f32);
  const std::vector<float> v = m.encode_one("a5 b6");
  CHECK(v.size() == 8);
  CHECK(std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); }));
}

TEST_CASE("quantize_model refuses an output folder it must not write, and a source already int8") {
  test_support::temp_dir dir;
  const fs::path source = dir / "model";
  test_support::write_tiny_bert_folder(source);
  const auto before = listing(source);
  fs::create_directories(dir / "full");
  test_support::write_file(dir / "full" / "file", "x");

  check_error(error_of([&] { minilm::quantize_model(source, dir / "full"); }), minilm::errc::invalid_argument,
              {(dir / "full").string(), "already exists and is not an empty directory"});
  check_error(error_of([&] { minilm::quantize_model(source, source); }), minilm::errc::invalid_argument,
              {"inside the model folder"});
  check_error(error_of([&] { minilm::quantize_model(source, source / "int8"); }), minilm::errc::invalid_argument,
              {"inside the model folder"});
  CHECK(listing(source) == before);
  CHECK(!fs::exists(source / "int8"));

  minilm::quantize_model(source, dir / "empty-is-fine");
  check_error(error_of([&] { minilm::quantize_model(dir / "empty-is-fine", dir / "again"); }), minilm::errc::invalid_argument,
              {(dir / "empty-is-fine" / "model.safetensors").string(), "already int8"});
  check_error(error_of([&] { minilm::quantize_model(dir / "absent", dir / "out"); }), minilm::errc::io, {"absent"});

  // Weights that are not finite cannot be given an int8 scale; nor can activations they overflow.
  const fs::path nan_folder = dir / "nan";
  test_support::write_tiny_bert_folder(nan_folder);
  std::string bytes = malformed::read_whole(nan_folder / "model.safetensors");
  std::size_t at = 0;
  {  // unmapped before the file is rewritten, which Windows refuses for a mapped file
    const auto nan_file = minilm::safetensors_file::open(nan_folder / "model.safetensors");
    const minilm::tensor_view& key = nan_file.at("encoder.layer.1.attention.self.key.weight");
    at = static_cast<std::size_t>(key.bytes().data() - nan_file.tensors().front().bytes().data()) + 8 +
         nan_file.header_bytes() + 4 * 13;  // element [1, 5]
  }
  const float nan = NAN;
  std::memcpy(bytes.data() + at, &nan, 4);
  test_support::write_file(nan_folder / "model.safetensors", bytes);
  check_error(error_of([&] { minilm::quantize_model(nan_folder, dir / "from-nan"); }), minilm::errc::invalid_tensor,
              {(nan_folder / "model.safetensors").string(), "encoder.layer.1.attention.self.key.weight", "nan", "[1, 5]"});
}

TEST_CASE("the int8 all-MiniLM-L6-v2 stays within the accuracy gate of sentence-transformers' F32 embeddings") {
  const auto g = encoder_golden::read_corpus(encoder_golden::data_dir() / "texts.txt",
                                             encoder_golden::data_dir() / "minilm-l6.golden").g;
  REQUIRE(g.n_corpus >= 2000);
  const minilm::encoder& m = real_int8_model(2);
  REQUIRE(m.precision() == minilm::weight_precision::int8);
  const minilm::embeddings e = m.encode_ids(g.ids, g.offsets);
  REQUIRE(e.size() == g.n_texts);
  const std::vector<double> c = cosines(e.values.data(), g.embeddings.data(), g.n_texts, g.dim);
  const double lowest = *std::min_element(c.begin(), c.end());
  MESSAGE(std::setprecision(6) << "int8 all-MiniLM-L6-v2 on " << g.n_texts
                               << " texts against sentence-transformers F32: median cosine " << median(c)
                               << ", minimum " << lowest << " (text " << (std::min_element(c.begin(), c.end()) - c.begin())
                               << ")");
  CHECK(median(c) >= min_median_cosine);
  CHECK(lowest >= min_cosine);

  const auto weights = minilm::safetensors_file::open(real_int8_folder() / "model.safetensors");
  CHECK(weights.metadata().at("minilm.source_sha256") == published_sha256);
}

TEST_CASE("an int8 embedding is bitwise the same in any batch, at any position, on any number of threads") {
  const auto texts = encoder_golden::read_texts(encoder_golden::data_dir() / "texts.txt");
  std::vector<std::string_view> sample;
  for (std::size_t i = 0; i < texts.size(); i += 53) sample.push_back(texts[i]);
  sample.push_back(texts.back());  // more than 256 word pieces: truncated
  const minilm::embeddings all = real_int8_model(2).encode(sample);
  std::vector<std::string_view> reversed(sample.rbegin(), sample.rend());
  const minilm::embeddings backwards = real_int8_model(3).encode(reversed);
  std::size_t differ_alone = 0, differ_reversed = 0;
  for (std::size_t k = 0; k < sample.size(); ++k) {
    const std::vector<float> alone = real_int8_model(1).encode_one(sample[k]);
    differ_alone += std::memcmp(alone.data(), all[k].data(), alone.size() * sizeof(float)) != 0;
    const auto back = backwards[sample.size() - 1 - k];
    differ_reversed += std::memcmp(back.data(), all[k].data(), back.size() * sizeof(float)) != 0;
  }
  CHECK(differ_alone == 0);
  CHECK(differ_reversed == 0);
}

TEST_CASE("minilm quantize and minilm info on the command line") {
  if (malformed::cli_path() == nullptr) return;  // the tests run without the tool when examples are disabled
  const auto info = malformed::run_cli({"info", "--model", real_int8_folder().string()});
  CHECK(info.exit_code == 0);
  CHECK(info.out.find("precision       int8 (int8-per-channel") != std::string::npos);
  CHECK(info.out.find(published_sha256) != std::string::npos);
  const auto f32 = malformed::run_cli({"info", "--model", test_support::model_dir().string()});
  CHECK(f32.out.find("precision       f32\n") != std::string::npos);

  const auto no_out = malformed::run_cli({"quantize", "--model", test_support::model_dir().string()});
  CHECK(no_out.exit_code == 2);
  CHECK(no_out.err.find("--out DIR is required") != std::string::npos);
  test_support::temp_dir dir;
  fs::create_directories(dir / "taken");
  test_support::write_file(dir / "taken" / "x", "x");
  const auto taken = malformed::run_cli({"quantize", "--model", test_support::model_dir().string(), "--out", (dir / "taken").string()});
  CHECK(taken.exit_code == 1);
  CHECK(taken.err.find("already exists and is not an empty directory") != std::string::npos);
}

namespace {

// An int8 tiny model's model.safetensors, built tensor by tensor so that one rule can be
// broken at a time: `edit` may change each tensor's dtype, shape or bytes (or drop it by
// clearing its name) before it is written.
struct tensor_entry {
  std::string name, dtype;
  std::vector<std::int64_t> shape;
  std::string bytes;
  std::vector<tensor_entry> extra = {};  // written right after this one
};

std::string int8_tiny_file(const std::function<void(tensor_entry&)>& edit = {},
                           const std::string& metadata = R"({"format":"pt","minilm.quantization":"int8-per-channel"})") {
  test_support::safetensors_builder b;
  b.metadata(metadata);
  std::vector<tensor_entry> entries;
  for (const auto& [name, shape] : test_support::tiny_bert_tensors({})) {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    const bool linear = name.find("encoder.layer.") == 0 && name.find("LayerNorm") == std::string::npos &&
                        name.ends_with(".weight");
    if (!linear) {
      std::string bytes(4 * n, '\0');
      for (std::size_t i = 0; i < n; ++i) {
        const float v = 0.01f * static_cast<float>(i % 7) + 0.1f;
        std::memcpy(bytes.data() + 4 * i, &v, 4);
      }
      entries.push_back({name, "F32", shape, bytes});
      continue;
    }
    std::string scale(4 * static_cast<std::size_t>(shape[0]), '\0');
    for (std::int64_t j = 0; j < shape[0]; ++j) {
      const float s = 0.01f;
      std::memcpy(scale.data() + 4 * j, &s, 4);
    }
    entries.push_back({name + "_scale", "F32", {shape[0]}, scale});
    std::string q(n, '\0');
    for (std::size_t i = 0; i < n; ++i) q[i] = static_cast<char>(static_cast<int>(i % 255) - 127);
    entries.push_back({name, "I8", shape, q});
  }
  for (tensor_entry& e : entries) {
    if (edit) edit(e);
    if (!e.name.empty()) b.add_raw(e.name, e.dtype, e.shape, e.bytes);
    for (const tensor_entry& x : e.extra) b.add_raw(x.name, x.dtype, x.shape, x.bytes);
  }
  return b.build();
}

std::string float_bytes(std::vector<float> v) {
  std::string s(4 * v.size(), '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

}  // namespace

TEST_CASE("int8 files that break the scheme's rules are refused, naming the file and the tensor") {
  const std::string query = "encoder.layer.0.attention.self.query.weight";
  std::vector<malformed::folder_case> cases = {
      {"an unknown scheme", "model.safetensors",
       int8_tiny_file({}, R"({"format":"pt","minilm.quantization":"int4-blockwise"})"), minilm::errc::unsupported,
       {"minilm.quantization", "'int4-blockwise'", "int8-per-channel"}},
      {"I8 weights without the metadata", "model.safetensors", int8_tiny_file({}, R"({"format":"pt"})"),
       minilm::errc::invalid_tensor, {query, "is I8", "minilm.quantization"}},
      {"an F32 linear weight in an int8 file", "model.safetensors",
       int8_tiny_file([&](tensor_entry& e) {
         if (e.name == query) e = {query, "F32", {8, 8}, float_bytes(std::vector<float>(64, 0.5f))};
       }),
       minilm::errc::invalid_tensor, {query, "should be I8", "int8-per-channel"}},
      {"a scale missing", "model.safetensors",
       int8_tiny_file([&](tensor_entry& e) {
         if (e.name == query + "_scale") e.name.clear();
       }),
       minilm::errc::missing_tensor, {query + "_scale", "missing"}},
      {"a scale of the wrong shape", "model.safetensors",
       int8_tiny_file([&](tensor_entry& e) {
         if (e.name == query + "_scale") e = {e.name, "F32", {4}, float_bytes(std::vector<float>(4, 0.01f))};
       }),
       minilm::errc::invalid_tensor, {query + "_scale", "should have shape [8]"}},
      {"an I8 scale", "model.safetensors",
       int8_tiny_file([&](tensor_entry& e) {
         if (e.name == query + "_scale") e = {e.name, "I8", {8}, std::string(8, '\1')};
       }),
       minilm::errc::invalid_tensor, {query + "_scale", "only the linear layers' weights may be int8"}},
      {"a negative scale", "model.safetensors",
       int8_tiny_file([&](tensor_entry& e) {
         if (e.name == query + "_scale") e.bytes = float_bytes({0.01f, 0.01f, 0.01f, -0.01f, 0.01f, 0.01f, 0.01f, 0.01f});
       }),
       minilm::errc::invalid_tensor, {query + "_scale", "-0.01", "at 3", "not negative"}},
      {"a NaN scale", "model.safetensors",
       int8_tiny_file([&](tensor_entry& e) {
         if (e.name == query + "_scale") e.bytes = float_bytes({0.01f, NAN, 0.01f, 0.01f, 0.01f, 0.01f, 0.01f, 0.01f});
       }),
       minilm::errc::invalid_tensor, {query + "_scale", "nan", "at 1", "finite"}},
      {"an infinite scale", "model.safetensors",
       int8_tiny_file([&](tensor_entry& e) {
         if (e.name == query + "_scale") e.bytes = float_bytes({0.01f, 0.01f, 0.01f, 0.01f, 0.01f, 0.01f, 0.01f, INFINITY});
       }),
       minilm::errc::invalid_tensor, {query + "_scale", "inf", "at 7"}},
      {"an int8 weight of the wrong shape", "model.safetensors",
       int8_tiny_file([&](tensor_entry& e) {
         if (e.name == query) e = {query, "I8", {8, 4}, std::string(32, '\1')};
       }),
       minilm::errc::invalid_tensor, {query, "should have shape [8, 8]"}},
      {"an I8 LayerNorm", "model.safetensors",
       int8_tiny_file([&](tensor_entry& e) {
         if (e.name == "embeddings.LayerNorm.weight") e = {e.name, "I8", {8}, std::string(8, '\1')};
       }),
       minilm::errc::invalid_tensor, {"embeddings.LayerNorm.weight", "only the linear layers' weights may be int8"}},
  };
  malformed::check_folder_cases(cases, [](const fs::path& folder) { minilm::encoder::load(folder); });
}

TEST_CASE("outlier channels that break the scheme's rules are refused, naming the file and the tensor") {
  const std::string query = "encoder.layer.0.attention.self.query";
  // The query layer's outliers: index (I32 [n]) and weights (F32 [8, n]), as given; the other
  // layers have none.
  auto with_outliers = [&](const std::string& index_dtype, std::vector<std::int32_t> index, std::vector<std::int64_t> weight_shape,
                           bool weights = true) {
    return int8_tiny_file([=](tensor_entry& e) {
      if (e.name != query + ".weight_scale") return;
      std::string index_bytes(4 * index.size(), '\0');
      std::memcpy(index_bytes.data(), index.data(), index_bytes.size());
      std::size_t n = 1;
      for (auto d : weight_shape) n *= static_cast<std::size_t>(d);
      // Appended to the scale's entry: the builder writes each entry's tensors in order.
      e.extra.push_back({query + ".outlier_index", index_dtype, {static_cast<std::int64_t>(index.size())}, index_bytes});
      if (weights) e.extra.push_back({query + ".outlier_weight", "F32", weight_shape, float_bytes(std::vector<float>(n, 0.5f))});
    });
  };
  std::vector<std::int32_t> too_many(65);
  for (std::size_t i = 0; i < too_many.size(); ++i) too_many[i] = static_cast<std::int32_t>(i);
  std::vector<malformed::folder_case> cases = {
      {"an index without weights", "model.safetensors", with_outliers("I32", {1, 5}, {8, 2}, false),
       minilm::errc::missing_tensor, {query + ".outlier_weight", "missing"}},
      {"an F32 index", "model.safetensors", with_outliers("F32", {1, 5}, {8, 2}), minilm::errc::invalid_tensor,
       {query + ".outlier_index", "should be I32"}},
      {"an index that decreases", "model.safetensors", with_outliers("I32", {5, 2}, {8, 2}), minilm::errc::invalid_tensor,
       {query + ".outlier_index", "holds 2 at 1", "increasing and below 8"}},
      {"an index past the input", "model.safetensors", with_outliers("I32", {1, 8}, {8, 2}), minilm::errc::invalid_tensor,
       {query + ".outlier_index", "holds 8 at 1"}},
      {"a negative index", "model.safetensors", with_outliers("I32", {-1, 3}, {8, 2}), minilm::errc::invalid_tensor,
       {query + ".outlier_index", "holds -1 at 0"}},
      {"weights of the wrong shape", "model.safetensors", with_outliers("I32", {1, 5}, {8, 3}), minilm::errc::invalid_tensor,
       {query + ".outlier_weight", "should have shape [8, 2]"}},
      {"more than 64 channels", "model.safetensors", with_outliers("I32", too_many, {8, 65}), minilm::errc::invalid_tensor,
       {query + ".outlier_index", "at most 64"}},
  };
  malformed::check_folder_cases(cases, [](const fs::path& folder) { minilm::encoder::load(folder); });

  // Well-formed outliers load, and change the embedding.
  test_support::temp_dir dir;
  test_support::write_tiny_bert_folder(dir / "plain");
  test_support::write_file(dir / "plain" / "model.safetensors", int8_tiny_file());
  test_support::write_tiny_bert_folder(dir / "outliers");
  test_support::write_file(dir / "outliers" / "model.safetensors", with_outliers("I32", {1, 5}, {8, 2}));
  CHECK(minilm::encoder::load(dir / "plain").encode_one("a5 b6") != minilm::encoder::load(dir / "outliers").encode_one("a5 b6"));
}

TEST_CASE("every int8 value, -128 included, loads and gives finite embeddings; a zero scale is a row of zeros") {
  test_support::temp_dir dir;
  const fs::path folder = dir / "model";
  test_support::write_tiny_bert_folder(folder);
  test_support::write_file(folder / "model.safetensors", int8_tiny_file([](tensor_entry& e) {
                             if (e.dtype == "I8") {
                               for (std::size_t i = 0; i < e.bytes.size(); ++i) e.bytes[i] = static_cast<char>(i % 2 ? -128 : 127);
                             }
                             if (e.name.ends_with("_scale")) {
                               std::vector<float> scales(static_cast<std::size_t>(e.shape[0]));
                               for (std::size_t j = 0; j < scales.size(); ++j) scales[j] = j % 2 ? 0.02f : 0.0f;
                               e.bytes = float_bytes(scales);
                             }
                           }));
  const minilm::encoder m = minilm::encoder::load(folder);
  CHECK(m.precision() == minilm::weight_precision::int8);
  for (const char* text : {"a5", "a5 b6 c7 d8", ""}) {
    const std::vector<float> v = m.encode_one(text);
    CHECK(std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); }));
  }
}
