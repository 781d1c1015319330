// Files written so that a crash or a full disk never leaves a half-written one under the final
// name: temporary file, checked writes, fsync, rename, fsync of the directory. Errors name the
// path and errno.
#pragma once

#include <string>

namespace qkv {

// Writes `contents` to `path` atomically (temporary file, fsync, rename, fsync of the directory).
void write_file_atomic(const std::string& path, const std::string& contents);

// Writes bytes to a new file and flushes them to the disk (a full disk surfaces here or at the
// flush); std::runtime_error naming the path and errno otherwise.
void write_file_durable(const std::string& path, const std::string& contents);

// fsync of a file or a directory; std::runtime_error naming the path and errno when it fails.
void fsync_path(const std::string& path, bool directory);

// std::runtime_error "PATH: WHAT: strerror (errno N)".
[[noreturn]] void io_failure(const std::string& what, const std::string& path, int err);

// The whole file as bytes; empty when it cannot be read.
std::string read_file(const std::string& path);
// The whole file as bytes; InputError "PATH: cannot read the WHAT" when it cannot be opened.
std::string read_input_file(const std::string& path, const std::string& what);

}  // namespace qkv
