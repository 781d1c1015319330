// FNV-1a 64 over bytes and files.
#include "transformer/util/checksum.h"

#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace qkv {

uint64_t fnv1a64(std::string_view bytes, uint64_t hash) {
  for (unsigned char byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string checksum_hex(std::string_view bytes) { return fmt::format("{:016x}", fnv1a64(bytes)); }

std::string file_checksum(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<char> buffer(1 << 20);
  uint64_t hash = 0xcbf29ce484222325ULL;
  while (in) {
    in.read(buffer.data(), std::streamsize(buffer.size()));
    hash = fnv1a64(std::string_view(buffer.data(), size_t(in.gcount())), hash);
  }
  return fmt::format("{:016x}", hash);
}

}  // namespace qkv
