// minilm::quantize_model (minilm/quantize.hpp): the int8 folder, written from the F32 one.

#include "minilm/quantize.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <span>
#include <system_error>
#include <vector>

#include "bert.hpp"
#include "int8_format.hpp"
#include "mapped_file.hpp"
#include "minilm/model_folder.hpp"
#include "minilm/safetensors.hpp"
#include "minilm/tokenizer.hpp"
#include "minilm/weights.hpp"
#include "sha256.hpp"

MINILM_BEGIN_NAMESPACE
namespace {

namespace fs = std::filesystem;

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// A tensor of the new file: its bytes lie in the source mapping or in `owned`.
struct out_tensor {
  std::string name;
  dtype type;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> bytes;
};

// s as a JSON string literal.
std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      static constexpr char digits[] = "0123456789abcdef";
      out += "\\u00";
      out += digits[c >> 4];
      out += digits[c & 0xF];
    } else {
      out += ch;
    }
  }
  return out + '"';
}

// Writes a safetensors file: the header (metadata, then the tensors in the order given, their
// data one after another with no gap), padded with spaces to a multiple of 8 bytes.
void write_safetensors(const fs::path& path, const std::vector<out_tensor>& tensors,
                       const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::string header = "{\"__metadata__\":{";
  for (std::size_t i = 0; i < metadata.size(); ++i) {
    header += (i ? "," : "") + json_string(metadata[i].first) + ":" + json_string(metadata[i].second);
  }
  header += "}";
  std::uint64_t offset = 0;
  for (const out_tensor& t : tensors) {
    header += "," + json_string(t.name) + ":{\"dtype\":\"" + std::string(dtype_name(t.type)) + "\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) header += (i ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + t.bytes.size()) + "]}";
    offset += t.bytes.size();
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((std::uint64_t{header.size()} >> (8 * i)) & 0xFF);
  out.write(length, 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const out_tensor& t : tensors) {
    out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  }
  out.close();
  if (!out) throw error(errc::io, quoted(path) + ": cannot write: " + std::strerror(errno));
}

// Texts the F32 model runs on to find each layer's outlier channels: everyday sentences of
// many kinds and lengths (questions, numbers, code, a few other languages). Which channels
// carry the large activations is a property of the model (LayerNorm's weights, mostly), so a
// few dozen texts find them.
constexpr std::string_view calibration_texts[] = {
    "How do I share one model between worker processes?",
    "The quick brown fox jumps over the lazy dog.",
    "A man is playing a guitar on a street corner while people walk past.",
    "What is the capital of Australia, and why was it chosen over Sydney?",
    "Quarterly revenue rose 12% to $4.3 billion, beating analysts' estimates.",
    "The patient was prescribed 20 mg of atorvastatin once daily.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Please reset my password; I can't log in since yesterday's update.",
    "In 1969, Apollo 11 landed on the Moon and Neil Armstrong stepped onto its surface.",
    "The recipe calls for two cups of flour, a pinch of salt and three eggs.",
    "Error: connection refused (ECONNREFUSED) when calling http://localhost:8080/api/v1/items",
    "She sold her car because the repairs cost more than it was worth.",
    "Machine learning models can inherit biases present in their training data.",
    "The river flooded the valley after three days of heavy rain.",
    "Is it safe to eat eggs after the expiry date if they were refrigerated?",
    "Our team will meet on Thursday at 10 a.m. to review the budget proposal.",
    "The court ruled that the contract was void because one party had been misled.",
    "Children learn languages faster when they hear them spoken at home.",
    "def add(a, b): return a + b  # a small Python function",
    "The stock market fell sharply after the central bank raised interest rates.",
    "Le chat dort sur le canap\u00e9 pendant que la pluie tombe dehors.",
    "Der Zug nach Berlin hat zwanzig Minuten Versp\u00e4tung.",
    "El museo abre todos los d\u00edas excepto los lunes.",
    "Il mio libro preferito \u00e8 stato scritto pi\u00f9 di cento anni fa.",
    "Heavy metals such as lead and mercury accumulate in the food chain.",
    "This hotel was clean, quiet and close to the station, but breakfast was disappointing.",
    "Symptoms include fever, dry cough, fatigue and loss of taste or smell.",
    "The algorithm sorts n numbers in O(n log n) time using a divide-and-conquer strategy.",
    "Volcanic eruptions can cool the global climate by releasing sulfur dioxide into the stratosphere.",
    "I think the movie was too long, although the soundtrack was wonderful.",
    "Mount Everest is 8,849 metres high and lies on the border between Nepal and China.",
    "A transformer encoder maps a sequence of tokens to a sequence of contextual vectors, and mean pooling "
    "turns them into one sentence embedding that can be compared with cosine similarity.",
};

// The largest |activation| each linear layer's input channels reach over calibration_texts,
// from the F32 forward pass.
std::map<const linear_weights*, std::vector<float>> measure_activations(const model_folder& folder,
                                                                        const bert_weights& weights) {
  const tokenizer tok = tokenizer::load(folder);
  const packed_batch texts = tok.encode_batch(calibration_texts);
  std::map<const linear_weights*, std::vector<float>> amax;
  detail::forward_scratch scratch;
  scratch.linear.observe_input = [&](const linear_weights& l, const float* x, std::size_t n_rows) {
    std::vector<float>& m = amax[&l];
    const auto n = static_cast<std::size_t>(l.n_in);
    m.resize(n);
    for (std::size_t r = 0; r < n_rows; ++r) {
      for (std::size_t p = 0; p < n; ++p) m[p] = std::max(m[p], std::fabs(x[r * n + p]));
    }
  };
  detail::thread_pool pool(1);
  detail::forward(folder.config, weights, texts, scratch, pool);
  return amax;
}

// One linear layer's weight, quantized. The n_outliers input channels with the largest
// activations (ties: the lower channel) keep their F32 columns (outlier_weight, [out, n]); in q
// they are 0. Elsewhere q[j][p] = round(w[j][p] / scale[j]) within [-127, 127], scale[j] =
// max |w[j][p]| / 127 over the other channels (0, and q = 0, for a row of zeros).
struct quantized_linear {
  std::vector<std::int8_t> q;
  std::vector<float> scale;
  std::vector<std::int32_t> outlier_index;
  std::vector<float> outlier_weight;
};

quantized_linear quantize_rows(const linear_weights& l, const std::vector<float>& activation_amax, std::size_t n_outliers,
                               const std::string& source, const std::string& name) {
  const auto n_out = static_cast<std::size_t>(l.n_out), n_in = static_cast<std::size_t>(l.n_in);
  for (std::size_t i = 0; i < n_out * n_in; ++i) {
    if (!std::isfinite(l.weight[i])) {
      throw error(errc::invalid_tensor, source + ": tensor '" + name + "' holds " + std::to_string(l.weight[i]) + " at [" +
                                            std::to_string(i / n_in) + ", " + std::to_string(i % n_in) +
                                            "]; only finite weights can be quantized");
    }
  }
  for (std::size_t p = 0; p < n_in; ++p) {
    if (!std::isfinite(activation_amax[p])) {
      throw error(errc::invalid_tensor, source + ": the F32 model's activations at the input of '" + name +
                                            "' are not finite on the calibration texts (channel " + std::to_string(p) + ")");
    }
  }
  quantized_linear r;
  r.q.resize(n_out * n_in);
  r.scale.resize(n_out);
  std::vector<std::int32_t> channels(n_in);
  std::iota(channels.begin(), channels.end(), 0);
  n_outliers = std::min(n_outliers, n_in);
  std::partial_sort(channels.begin(), channels.begin() + static_cast<std::ptrdiff_t>(n_outliers), channels.end(),
                    [&](std::int32_t a, std::int32_t b) {
                      return activation_amax[a] != activation_amax[b] ? activation_amax[a] > activation_amax[b] : a < b;
                    });
  r.outlier_index.assign(channels.begin(), channels.begin() + static_cast<std::ptrdiff_t>(n_outliers));
  std::sort(r.outlier_index.begin(), r.outlier_index.end());
  std::vector<bool> outlier(n_in, false);
  for (const std::int32_t c : r.outlier_index) outlier[static_cast<std::size_t>(c)] = true;

  r.outlier_weight.resize(n_out * n_outliers);
  for (std::size_t j = 0; j < n_out; ++j) {
    const float* row = l.weight + j * n_in;
    for (std::size_t o = 0; o < n_outliers; ++o) r.outlier_weight[j * n_outliers + o] = row[r.outlier_index[o]];
    float amax = 0.0f;
    for (std::size_t p = 0; p < n_in; ++p) {
      if (!outlier[p]) amax = std::max(amax, std::fabs(row[p]));
    }
    const float scale = amax / 127.0f;
    r.scale[j] = scale;
    if (scale == 0.0f) continue;
    for (std::size_t p = 0; p < n_in; ++p) {
      if (outlier[p]) continue;
      const float v = std::nearbyint(row[p] / scale);
      r.q[j * n_in + p] = static_cast<std::int8_t>(std::clamp(v, -127.0f, 127.0f));
    }
  }
  return r;
}

std::string sha256_of(const fs::path& path) {
  const detail::mapped_file file(path);
  detail::sha256 h;
  h.update({file.data(), file.size()});
  return h.hex();
}

// Files that are other copies of the weights, or not part of the model (hidden files).
bool left_out(const fs::directory_entry& entry) {
  const std::string name = entry.path().filename().string();
  if (name.empty() || name[0] == '.') return true;
  if (entry.is_directory()) return name == "onnx" || name == "openvino";
  static constexpr const char* weight_extensions[] = {".safetensors", ".bin", ".onnx", ".h5", ".msgpack",
                                                      ".ot", ".pt", ".pth", ".gguf"};
  const std::string ext = entry.path().extension().string();
  return std::any_of(std::begin(weight_extensions), std::end(weight_extensions), [&](const char* e) { return ext == e; });
}

// Creates `out` (which must not exist or be an empty directory, outside `folder`), then copies
// every file of `folder` that left_out() keeps. Returns how many files were copied.
std::size_t copy_folder(const fs::path& folder, const fs::path& out) {
  std::error_code ec;
  const fs::path source = fs::canonical(folder, ec);
  if (ec) throw error(errc::io, quoted(folder) + ": " + ec.message());
  const fs::path target = fs::weakly_canonical(fs::absolute(out), ec);
  if (ec) throw error(errc::invalid_argument, "output folder " + quoted(out) + ": " + ec.message());
  const auto [source_end, target_at] = std::mismatch(source.begin(), source.end(), target.begin(), target.end());
  if (source_end == source.end()) {
    throw error(errc::invalid_argument, "output folder " + quoted(out) + " is inside the model folder " + quoted(folder) +
                                            ", which quantize_model never writes to");
  }
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    throw error(errc::invalid_argument, "output folder " + quoted(out) + " already exists and is not an empty directory");
  }
  fs::create_directories(out, ec);
  if (ec) throw error(errc::io, quoted(out) + ": cannot create the folder: " + ec.message());

  std::size_t n_copied = 0;
  for (auto it = fs::recursive_directory_iterator(source, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (left_out(*it)) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    const fs::path to = out / fs::relative(it->path(), source);
    if (it->is_directory()) {
      fs::create_directories(to, ec);
    } else if (it->is_regular_file()) {  // a symbolic link (a Hugging Face cache) copies its target
      fs::copy_file(it->path(), to, ec);
      ++n_copied;
    }
    if (ec) throw error(errc::io, quoted(to) + ": cannot copy " + quoted(it->path()) + ": " + ec.message());
  }
  if (ec) throw error(errc::io, quoted(folder) + ": cannot list the folder: " + ec.message());
  return n_copied;
}

}  // namespace

quantize_result quantize_model(const fs::path& folder, const fs::path& out, const quantize_options& options) {
  if (options.n_outliers > static_cast<std::size_t>(detail::max_outliers)) {
    throw error(errc::invalid_argument, "n_outliers " + std::to_string(options.n_outliers) + " is above " +
                                            std::to_string(detail::max_outliers));
  }
  const model_folder source = read_model_folder(folder);
  const safetensors_file file = safetensors_file::open(source.weights);
  const bert_weights weights = bind_bert_weights(file, source.config);
  if (weights.precision != weight_precision::f32) {
    throw error(errc::invalid_argument, quoted(source.weights) + ": already " + weight_precision_name(weights.precision) +
                                            " (metadata '" + detail::quantization_field + "': '" + detail::int8_scheme + "')");
  }

  quantize_result result;
  result.source_bytes = file.size_bytes();
  result.source_sha256 = sha256_of(source.weights);

  // The linear layers, by the name of their weight tensor.
  std::vector<std::pair<std::string, const linear_weights*>> linears;
  for (std::size_t i = 0; i < weights.layers.size(); ++i) {
    const std::string l = weights.prefix + "encoder.layer." + std::to_string(i) + ".";
    const bert_layer_weights& w = weights.layers[i];
    const std::pair<const char*, const linear_weights*> layer_linears[] = {
        {"attention.self.query", &w.query},         {"attention.self.key", &w.key},
        {"attention.self.value", &w.value},         {"attention.output.dense", &w.attention_output},
        {"intermediate.dense", &w.intermediate},    {"output.dense", &w.output}};
    for (const auto& [name, linear] : layer_linears) linears.emplace_back(l + name + ".weight", linear);
  }

  // Every other tensor as it is, then the scales, then the int8 weights: ordered by element
  // size, each tensor's data stays aligned for its type (the data starts 8-aligned).
  std::vector<out_tensor> kept;
  for (const tensor_view& t : file.tensors()) {
    const bool quantized = std::any_of(linears.begin(), linears.end(), [&](const auto& l) { return l.first == t.name(); });
    if (!quantized) kept.push_back({t.name(), t.type(), t.shape(), t.bytes()});
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const out_tensor& a, const out_tensor& b) { return dtype_bits(a.type) > dtype_bits(b.type); });
  const auto activations = measure_activations(source, weights);
  std::vector<quantized_linear> owned;
  owned.reserve(linears.size());
  std::vector<out_tensor> scales, int8s;
  for (const auto& [name, linear] : linears) {
    const quantized_linear& q = owned.emplace_back(
        quantize_rows(*linear, activations.at(linear), options.n_outliers, quoted(source.weights), name));
    const std::string layer = name.substr(0, name.size() - std::string_view(".weight").size());
    const auto n = static_cast<std::int64_t>(q.outlier_index.size());
    scales.push_back({name + "_scale", dtype::f32, {linear->n_out}, std::as_bytes(std::span(q.scale))});
    scales.push_back({layer + ".outlier_index", dtype::i32, {n}, std::as_bytes(std::span(q.outlier_index))});
    scales.push_back({layer + ".outlier_weight", dtype::f32, {linear->n_out, n}, std::as_bytes(std::span(q.outlier_weight))});
    int8s.push_back({name, dtype::i8, {linear->n_out, linear->n_in}, std::as_bytes(std::span(q.q))});
  }
  std::vector<out_tensor> tensors = kept;
  tensors.insert(std::upper_bound(tensors.begin(), tensors.end(), 32u,
                                  [](unsigned bits, const out_tensor& t) { return bits > dtype_bits(t.type); }),
                 scales.begin(), scales.end());
  tensors.insert(std::upper_bound(tensors.begin(), tensors.end(), 8u,
                                  [](unsigned bits, const out_tensor& t) { return bits > dtype_bits(t.type); }),
                 int8s.begin(), int8s.end());

  std::vector<std::pair<std::string, std::string>> metadata;
  for (const auto& [key, value] : file.metadata()) {
    if (key.rfind("minilm.", 0) != 0) metadata.emplace_back(key, value);
  }
  metadata.emplace_back(detail::quantization_field, detail::int8_scheme);
  metadata.emplace_back("minilm.outliers_per_layer", std::to_string(options.n_outliers));
  metadata.emplace_back("minilm.source", source.weights.filename().string());
  metadata.emplace_back("minilm.source_sha256", result.source_sha256);
  metadata.emplace_back("minilm.version", MINILM_VERSION_STRING);

  result.n_files_copied = copy_folder(folder, out);
  result.weights = out / source.weights.filename();
  const fs::path partial = out / (source.weights.filename().string() + ".partial");
  write_safetensors(partial, tensors, metadata);
  std::error_code ec;
  fs::rename(partial, result.weights, ec);
  if (ec) throw error(errc::io, quoted(result.weights) + ": cannot rename " + quoted(partial) + " into place: " + ec.message());
  result.n_quantized = linears.size();
  result.bytes = fs::file_size(result.weights, ec);

  // The new folder must open as any other does.
  const model_folder written = read_model_folder(out);
  bind_bert_weights(safetensors_file::open(written.weights), written.config);
  return result;
}

MINILM_END_NAMESPACE
