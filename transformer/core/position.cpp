// The position-scheme factory and names; the "none" scheme is the base class itself.
#include "transformer/core/position.h"

#include <stdexcept>

namespace qkv {

PositionScheme make_position_scheme(const PositionOptions& options) {
  switch (options.kind) {
    case PositionKind::kNone:
      return wrap_scheme<PositionSchemeImpl>(options);
    case PositionKind::kSinusoidal:
      return make_sinusoidal_scheme(options);
    case PositionKind::kLearned:
      return make_learned_scheme(options);
    case PositionKind::kShaw:
      return make_shaw_scheme(options);
    case PositionKind::kT5:
      return make_t5_scheme(options);
    case PositionKind::kRope:
      return make_rope_scheme(options);
    case PositionKind::kAlibi:
      return make_alibi_scheme(options);
  }
  throw std::logic_error("unknown position kind");
}

}  // namespace qkv
