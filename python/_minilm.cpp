// python/_minilm.cpp: minilm._minilm, the extension module under python/minilm/__init__.py.
//
// A Model holds one minilm::encoder. Texts reach it as UTF-8 views of the Python strings
// themselves (no copy in), and embeddings leave it without a copy: encode_into() writes into the
// caller's NumPy array, and encode_tokens() hands over the vector the encoder filled as the
// array's own memory. The GIL is released for everything but reading the strings, so N Python
// threads calling one Model use N cores; the encoder is immutable and safe to share.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <minilm/encoder.hpp>
#include <minilm/model_folder.hpp>
#include <minilm/quantize.hpp>
#include <minilm/tokenizer.hpp>
#include <minilm/version.hpp>

namespace nb = nanobind;
using namespace nb::literals;

namespace {

// minilm.ModelError and minilm.InputError (python/minilm/_errors.py), which minilm/__init__.py hands
// over at import (register_errors) and which are kept for the process's life.
PyObject* model_error_class = nullptr;  // also an OSError: the model folder cannot be used
PyObject* input_error_class = nullptr;  // also a ValueError: a text or an argument cannot be used

bool is_input_error(minilm::errc code) {
  return code == minilm::errc::invalid_argument || code == minilm::errc::invalid_text;
}

void raise_error(const minilm::error& e) {
  PyObject* cls = is_input_error(e.code()) ? input_error_class : model_error_class;
  if (!cls) cls = PyExc_RuntimeError;
  const std::string_view what = e.what();
  nb::object message = nb::steal(PyUnicode_DecodeUTF8(what.data(), static_cast<Py_ssize_t>(what.size()), "backslashreplace"));
  if (!message.is_valid()) return;
  nb::object exc = nb::steal(PyObject_CallOneArg(cls, message.ptr()));
  if (!exc.is_valid()) return;
  if (cls != PyExc_RuntimeError) {
    exc.attr("code") = minilm::errc_name(e.code());
    exc.attr("text_index") = e.text_index() ? nb::cast(*e.text_index()) : nb::none();
  }
  PyErr_SetObject(cls, exc.ptr());
}

void register_errors(nb::type_object model_error, nb::type_object input_error) {
  Py_XDECREF(model_error_class);
  Py_XDECREF(input_error_class);
  model_error_class = nb::borrow(model_error).release().ptr();
  input_error_class = nb::borrow(input_error).release().ptr();
}

// A Python string as UTF-8, valid while `text` lives. `what` names it in the errors ("text 3",
// "prompt"); a text's position in its list is `index`.
std::string_view utf8_of(PyObject* text, const std::string& what, std::optional<std::size_t> index = std::nullopt) {
  if (!PyUnicode_Check(text)) throw nb::type_error((what + " is " + Py_TYPE(text)->tp_name + ", not str").c_str());
  Py_ssize_t size = 0;
  const char* utf8 = PyUnicode_AsUTF8AndSize(text, &size);
  if (utf8) return {utf8, static_cast<std::size_t>(size)};
  PyErr_Clear();  // a lone surrogate ("\ud800"), which has no UTF-8 form
  Py_ssize_t at = 0;
  const Py_ssize_t length = PyUnicode_GetLength(text);
  while (at < length && !(PyUnicode_ReadChar(text, at) >= 0xD800 && PyUnicode_ReadChar(text, at) <= 0xDFFF)) ++at;
  const std::string message = "not valid Unicode: a lone surrogate at character " + std::to_string(at);
  if (index) throw minilm::error(minilm::errc::invalid_text, message).in_text(*index);
  throw minilm::error(minilm::errc::invalid_text, what + ": " + message);
}

// The texts of one call: UTF-8 views into the str objects, which `keep` holds alive while the GIL
// is released (the caller's list may change meanwhile; its strings cannot).
struct texts_view {
  std::vector<nb::object> keep;
  std::vector<std::string_view> views;
};

texts_view read_texts(const nb::typed<nb::list, nb::str>& texts) {
  nb::object seq = nb::steal(PySequence_Fast(texts.ptr(), "texts must be a list of str"));
  if (!seq.is_valid()) throw nb::python_error();
  const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq.ptr());
  PyObject** items = PySequence_Fast_ITEMS(seq.ptr());
  texts_view t;
  t.keep.reserve(static_cast<std::size_t>(n));
  t.views.reserve(static_cast<std::size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    const auto index = static_cast<std::size_t>(i);
    t.views.push_back(utf8_of(items[i], "text " + std::to_string(index), index));
    t.keep.push_back(nb::borrow(items[i]));
  }
  return t;
}

// The prompt arguments of a call.
minilm::encode_options prompt_options(const std::optional<nb::str>& prompt_name, const std::optional<nb::str>& prompt) {
  minilm::encode_options o;
  if (prompt_name) o.prompt_name = std::string(utf8_of(prompt_name->ptr(), "prompt_name"));
  if (prompt) o.prompt = std::string(utf8_of(prompt->ptr(), "prompt"));
  return o;
}

std::optional<minilm::pooling_mode> parse_pooling(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  for (auto mode : {minilm::pooling_mode::mean, minilm::pooling_mode::cls, minilm::pooling_mode::max,
                    minilm::pooling_mode::mean_sqrt_len}) {
    if (*name == minilm::pooling_mode_name(mode)) return mode;
  }
  if (*name == "mean_sqrt_len_tokens") return minilm::pooling_mode::mean_sqrt_len;  // sentence-transformers' name
  throw minilm::error(minilm::errc::invalid_argument,
                      "pooling \"" + *name + "\" is not one of \"mean\", \"cls\", \"max\", \"mean_sqrt_len\"");
}

using float_rows = nb::ndarray<float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using owned_rows = nb::ndarray<nb::numpy, float, nb::ndim<2>>;

class model {
 public:
  model(const std::string& path, std::size_t threads, std::optional<bool> normalize, const std::optional<std::string>& pooling,
        std::size_t max_seq_length)
      : path_(path) {
    options_.n_threads = threads;
    options_.normalize = normalize;
    options_.pooling = parse_pooling(pooling);
    options_.max_seq_length = max_seq_length;
    nb::gil_scoped_release release;
    encoder_ = std::make_shared<const minilm::encoder>(minilm::encoder::load(path_, options_));
  }

  // The encoder of this moment: set_max_seq_length() may replace it while a call runs on the old one.
  std::shared_ptr<const minilm::encoder> get() const { return encoder_; }

  void set_max_seq_length(std::size_t n) {
    if (n == 0) throw minilm::error(minilm::errc::invalid_argument, "max_seq_length must be at least 1");
    minilm::encoder_options options = options_;
    options.max_seq_length = n;
    std::shared_ptr<const minilm::encoder> replacement;
    {
      nb::gil_scoped_release release;
      replacement = std::make_shared<const minilm::encoder>(minilm::encoder::load(path_, options));
    }
    options_ = options;
    encoder_ = std::move(replacement);
  }

  void encode_into(const nb::typed<nb::list, nb::str>& texts, float_rows out, const std::optional<nb::str>& prompt_name, const std::optional<nb::str>& prompt) const {
    const auto encoder = get();
    const texts_view t = read_texts(texts);
    if (out.shape(0) != t.views.size() || out.shape(1) != encoder->dimension()) {
      throw minilm::error(minilm::errc::invalid_argument,
                          "out has shape (" + std::to_string(out.shape(0)) + ", " + std::to_string(out.shape(1)) + "); " +
                              std::to_string(t.views.size()) + " texts need (" + std::to_string(t.views.size()) + ", " +
                              std::to_string(encoder->dimension()) + ")");
    }
    const minilm::encode_options options = prompt_options(prompt_name, prompt);
    nb::gil_scoped_release release;
    encoder->encode(t.views, std::span<float>(out.data(), out.size()), options);
  }

  // Every token's last hidden state: (states, offsets), text i's rows states[offsets[i]:offsets[i+1]].
  std::pair<owned_rows, std::vector<std::size_t>> encode_tokens(const nb::typed<nb::list, nb::str>& texts, const std::optional<nb::str>& prompt_name, const std::optional<nb::str>& prompt) const {
    const auto encoder = get();
    const texts_view t = read_texts(texts);
    minilm::encode_options options = prompt_options(prompt_name, prompt);
    options.token_states = true;
    minilm::embeddings e;
    {
      nb::gil_scoped_release release;
      e = encoder->encode(t.views, options);
    }
    const std::size_t dim = encoder->dimension();
    auto* states = new std::vector<float>(std::move(e.token_states));
    nb::capsule owner(states, [](void* p) noexcept { delete static_cast<std::vector<float>*>(p); });
    owned_rows array(states->data(), {states->size() / dim, dim}, owner);
    return {array, std::move(e.token_offsets)};
  }

  std::vector<std::vector<std::int32_t>> tokenize(const nb::typed<nb::list, nb::str>& texts, const std::optional<nb::str>& prompt_name, const std::optional<nb::str>& prompt) const {
    const auto encoder = get();
    const texts_view t = read_texts(texts);
    const minilm::encode_options options = prompt_options(prompt_name, prompt);
    minilm::packed_batch batch;
    {
      nb::gil_scoped_release release;
      batch = encoder->tokenize(t.views, options);
    }
    std::vector<std::vector<std::int32_t>> ids(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      ids[i].assign(batch.ids.begin() + static_cast<std::ptrdiff_t>(batch.offsets[i]),
                    batch.ids.begin() + static_cast<std::ptrdiff_t>(batch.offsets[i + 1]));
    }
    return ids;
  }

  std::size_t prompt_length(const std::optional<nb::str>& prompt_name, const std::optional<nb::str>& prompt) const {
    return get()->prompt_length(prompt_options(prompt_name, prompt));
  }

  nb::typed<nb::dict, nb::str, nb::str> prompts() const {
    nb::typed<nb::dict, nb::str, nb::str> d;
    for (const auto& p : get()->folder().prompts) d[nb::str(p.name.c_str())] = nb::str(p.text.c_str());
    return d;
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  minilm::encoder_options options_;
  std::shared_ptr<const minilm::encoder> encoder_;
};

}  // namespace

NB_MODULE(_minilm, m) {
  m.doc() = "minilm's extension module; use the minilm package (minilm.Encoder).";
  m.attr("version") = MINILM_VERSION_STRING;
  m.def("register_errors", &register_errors, "model_error"_a, "input_error"_a,
        "The classes minilm's errors are raised as: ModelError for a model that cannot be used, InputError for a "
        "text or an argument (minilm/_errors.py).");
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const minilm::error& e) {
      raise_error(e);
    }
  });

  m.def(
      "quantize",
      [](const std::string& model_path, const std::string& out, std::size_t outliers) {
        minilm::quantize_options options;
        options.n_outliers = outliers;
        nb::gil_scoped_release released;
        return minilm::quantize_model(model_path, out, options).weights.string();
      },
      "model"_a, "out"_a, "outliers"_a = 8,
      "Writes the int8 copy of a model folder into the new folder out (minilm/quantize.hpp); returns its weights file.");

  nb::class_<model>(m, "Model",
                    "A loaded model folder: minilm::encoder. Thread-safe; calls release the GIL.")
      .def(nb::init<const std::string&, std::size_t, std::optional<bool>, const std::optional<std::string>&, std::size_t>(),
           "path"_a, "threads"_a = 1, "normalize"_a = nb::none(), "pooling"_a = nb::none(), "max_seq_length"_a = 0,
           "Maps the folder's model.safetensors read-only and loads its tokenizer. threads: per call, the caller's "
           "included; 0 is one per hardware thread. normalize, pooling (\"mean\", \"cls\", \"max\", \"mean_sqrt_len\"), "
           "max_seq_length (0): None or 0 take the folder's values.")
      .def("encode_into", &model::encode_into, "texts"_a, "out"_a, "prompt_name"_a = nb::none(), "prompt"_a = nb::none(),
           "Writes the embeddings of texts (a list of str) into out, a C-contiguous float32 array of shape "
           "(len(texts), dimension).")
      .def("encode_tokens", &model::encode_tokens, "texts"_a, "prompt_name"_a = nb::none(), "prompt"_a = nb::none(),
           "(states, offsets): every token's last hidden state, (n_tokens, dimension) float32, text i's rows "
           "states[offsets[i]:offsets[i + 1]].")
      .def("tokenize", &model::tokenize, "texts"_a, "prompt_name"_a = nb::none(), "prompt"_a = nb::none(),
           "The ids the model is fed for each text, special tokens and prompt included, truncated to max_seq_length.")
      .def("prompt_length", &model::prompt_length, "prompt_name"_a = nb::none(), "prompt"_a = nb::none(),
           "How many tokens at the start of each sequence are the prompt's ([CLS] / <s> included); 0 without one.")
      .def("set_max_seq_length", &model::set_max_seq_length, "n"_a,
           "Reopens the folder with another max_seq_length; calls already running finish with the old one.")
      .def_prop_ro("path", &model::path, "The model folder.")
      .def_prop_ro("dimension", [](const model& self) { return self.get()->dimension(); })
      .def_prop_ro("max_seq_length", [](const model& self) { return self.get()->max_seq_length(); })
      .def_prop_ro("pooling", [](const model& self) { return std::string(minilm::pooling_mode_name(self.get()->pooling())); })
      .def_prop_ro("normalize", [](const model& self) { return self.get()->normalize(); })
      .def_prop_ro("precision",
                   [](const model& self) { return std::string(minilm::weight_precision_name(self.get()->precision())); })
      .def_prop_ro("threads", [](const model& self) { return self.get()->n_threads(); })
      .def_prop_ro("model_type", [](const model& self) { return self.get()->folder().config.model_type; })
      .def_prop_ro("prompts", &model::prompts, "The folder's named prompts, name -> text.")
      .def_prop_ro("default_prompt_name", [](const model& self) { return self.get()->folder().default_prompt_name; });
}
