// No position information: attention sees a set of tokens (a causal decoder still infers order
// from what it may attend to: Haviv et al. 2022). The module is the base class, which does nothing.
//
// Like every position_*.cpp: with QKV_POSITION_DESCRIPTORS (the torch-free qkv_config) this file
// compiles to the scheme's descriptor; without it (qkv_lib) to its module.
#include "transformer/config/position_scheme.h"
#ifndef QKV_POSITION_DESCRIPTORS
#include "transformer/core/position.h"
#endif

namespace qkv {

#ifdef QKV_POSITION_DESCRIPTORS

const PositionSchemeSpec& none_position_spec() {
  static const PositionSchemeSpec spec{kNoPositionScheme, "no position information (NoPE; Haviv et al. 2022)", {},
                                       kActsNowhere, /*relative=*/true, /*bounded_by_max_len=*/false, nullptr};
  return spec;
}

#else

PositionScheme none_position_module(const PositionOptions& options) { return wrap_scheme<PositionSchemeImpl>(options); }

#endif

}  // namespace qkv
