#include "minilm/weights.hpp"

MINILM_BEGIN_NAMESPACE
namespace {

class binder {
 public:
  // Tensor names carry no prefix (BertModel, XLMRobertaModel saved alone) or the model's
  // base_model_prefix (saved from a model with a head): "bert." for BERT, "roberta." for the
  // RoBERTa family (XLMRobertaModel, RobertaModel, CamembertModel). A file holding the other
  // family's names does not fit config.json's model_type: transformers would not load it.
  binder(const safetensors_file& file, bert_weights& out, const bert_config& config) : file_(file), out_(out) {
    const bool roberta = config.roberta_family();
    const std::string own = roberta ? "roberta." : "bert.", other = roberta ? "bert." : "roberta.";
    const std::string probe = "embeddings.word_embeddings.weight";
    out_.prefix = file.find(own + probe) != nullptr ? own : "";
    if (out_.prefix.empty() && file.find(probe) == nullptr && file.find(other + probe) != nullptr) {
      const std::string family = roberta ? "BERT" : "RoBERTa-family";
      throw error(errc::invalid_tensor, file_.source() + ": holds tensor '" + other + probe + "', named for a " + family +
                                            " model, but config.json says model_type '" + config.model_type +
                                            "' (whose tensors are named '" + probe + "' or '" + own + probe + "')");
    }
  }

  // A float pointer to the tensor `name` (without prefix), checked against `shape`.
  const float* get(const std::string& name, std::initializer_list<std::int64_t> shape) {
    const std::string full = out_.prefix + name;
    const tensor_view* t = file_.find(full);
    if (t == nullptr) {
      throw error(errc::missing_tensor, file_.source() + ": the model needs tensor '" + full + "', which is missing");
    }
    if (!std::equal(t->shape().begin(), t->shape().end(), shape.begin(), shape.end())) {
      std::string want = "[";
      for (auto d : shape) want += (want.size() > 1 ? ", " : "") + std::to_string(d);
      throw error(errc::invalid_tensor, file_.source() + ": tensor " + t->describe() + " should have shape " + want +
                                            "] according to config.json");
    }
    switch (t->type()) {
      case dtype::f32:
        if (t->f32_in_place()) return t->f32();
        [[fallthrough]];  // unaligned in the file: copied, like a conversion
      case dtype::f16:
      case dtype::bf16: {
        std::vector<float> v = t->to_f32();
        auto owned = std::make_unique<float[]>(v.size());
        std::copy(v.begin(), v.end(), owned.get());
        out_.converted_bytes += v.size() * sizeof(float);
        out_.converted.push_back(std::move(owned));
        return out_.converted.back().get();
      }
      default:
        throw error(errc::invalid_tensor, file_.source() + ": tensor " + t->describe() +
                                              " has a dtype the forward pass cannot use (F32, F16 or BF16)");
    }
  }

  linear_weights linear(const std::string& name, std::int64_t n_out, std::int64_t n_in) {
    return {get(name + ".weight", {n_out, n_in}), get(name + ".bias", {n_out}), n_out, n_in};
  }

  layer_norm_weights layer_norm(const std::string& name, std::int64_t n) {
    return {get(name + ".weight", {n}), get(name + ".bias", {n}), n};
  }

 private:
  const safetensors_file& file_;
  bert_weights& out_;
};

}  // namespace

bert_weights bind_bert_weights(const safetensors_file& file, const bert_config& c) {
  bert_weights w;
  binder b(file, w, c);
  const std::int64_t h = c.hidden_size;
  w.word_embeddings = b.get("embeddings.word_embeddings.weight", {c.vocab_size, h});
  w.position_embeddings = b.get("embeddings.position_embeddings.weight", {c.max_position_embeddings, h});
  w.token_type_embeddings = b.get("embeddings.token_type_embeddings.weight", {c.type_vocab_size, h});
  w.embeddings_norm = b.layer_norm("embeddings.LayerNorm", h);
  for (std::int64_t i = 0; i < c.n_layers; ++i) {
    const std::string l = "encoder.layer." + std::to_string(i) + ".";
    bert_layer_weights layer;
    layer.query = b.linear(l + "attention.self.query", h, h);
    layer.key = b.linear(l + "attention.self.key", h, h);
    layer.value = b.linear(l + "attention.self.value", h, h);
    layer.attention_output = b.linear(l + "attention.output.dense", h, h);
    layer.attention_norm = b.layer_norm(l + "attention.output.LayerNorm", h);
    layer.intermediate = b.linear(l + "intermediate.dense", c.intermediate_size, h);
    layer.output = b.linear(l + "output.dense", h, c.intermediate_size);
    layer.output_norm = b.layer_norm(l + "output.LayerNorm", h);
    w.layers.push_back(layer);
  }
  // A file with more layers than config.json says is a mismatch worth reporting.
  const std::string extra = w.prefix + "encoder.layer." + std::to_string(c.n_layers) + ".output.dense.weight";
  if (file.find(extra) != nullptr) {
    throw error(errc::invalid_tensor, file.source() + ": holds tensor '" + extra + "' but config.json says num_hidden_layers is " +
                                          std::to_string(c.n_layers));
  }
  return w;
}

MINILM_END_NAMESPACE
