// The position-scheme factory: each registered scheme's module by its name.
#include "transformer/core/position.h"

#include <map>
#include <stdexcept>

namespace qkv {

// Each scheme's module, defined in its core/position_NAME.cpp.
#define QKV_POSITION_SCHEME(name) PositionScheme name##_position_module(const PositionOptions& options);
#include "transformer/config/position_schemes.def"
#undef QKV_POSITION_SCHEME

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
