// Seeded randomness shared by the tasks and the trainer: streams that are a function of (seed,
// index) alone, so a batch or a step is the same whenever it is asked for (resume, ranks).
#pragma once

#include <cstdint>
#include <random>

namespace qkv {

// splitmix64's finaliser: nearby seeds give unrelated streams.
inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from the top 53 bits of one draw.
inline double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

}  // namespace qkv
