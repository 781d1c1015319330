// The position-scheme factory: each registered scheme's module by its name.
#include "transformer/core/position.h"

#include <map>
#include <stdexcept>

namespace qkv {

// Each scheme's module, defined in its core/position_NAME.cpp.
#define QKV_POSITION_SCHEME(name) PositionScheme name##_position_module(const PositionOptions& options);
#include "transformer/config/position_schemes.def"
#undef QKV_POSITION_SCHEME

torch::Tensor key_minus_query(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset, torch::Dtype dtype,
                              torch::Device device) {
  auto i = torch::arange(q_offset, q_offset + q_len, torch::dtype(dtype).device(device));
  auto j = torch::arange(k_offset, k_offset + k_len, torch::dtype(dtype).device(device));
  return j.unsqueeze(0) - i.unsqueeze(1);
}

PositionScheme make_position_scheme(const PositionOptions& options) {
  using Builder = PositionScheme (*)(const PositionOptions&);
  static const std::map<std::string, Builder> builders{
#define QKV_POSITION_SCHEME(name) {#name, &name##_position_module},
#include "transformer/config/position_schemes.def"
#undef QKV_POSITION_SCHEME
  };
  const auto it = builders.find(options.config.scheme);
  if (it == builders.end()) throw std::logic_error("unknown position scheme " + options.config.scheme);
  return it->second(options);
}

}  // namespace qkv
