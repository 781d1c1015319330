// Content checksums (64-bit FNV-1a, as 16 hex digits) for checkpoint manifests and tokenizers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace qkv {

uint64_t fnv1a64(std::string_view bytes, uint64_t hash = 0xcbf29ce484222325ULL);
std::string checksum_hex(std::string_view bytes);
// Checksum of a file's bytes; throws std::runtime_error when it cannot be read.
std::string file_checksum(const std::string& path);

}  // namespace qkv
