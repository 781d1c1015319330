// Names of the position schemes.
#include "transformer/config/kinds.h"

namespace qkv {

const char* position_kind_name(PositionKind kind) {
  switch (kind) {
    case PositionKind::kNone: return "none";
    case PositionKind::kSinusoidal: return "sinusoidal";
    case PositionKind::kLearned: return "learned";
    case PositionKind::kShaw: return "shaw";
    case PositionKind::kT5: return "t5";
    case PositionKind::kRope: return "rope";
    case PositionKind::kAlibi: return "alibi";
  }
  return "?";
}

bool is_relative(PositionKind kind) {
  return kind == PositionKind::kShaw || kind == PositionKind::kT5 || kind == PositionKind::kRope ||
         kind == PositionKind::kAlibi;
}

}  // namespace qkv
