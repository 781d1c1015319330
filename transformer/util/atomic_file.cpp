// Durable and atomic file writes.
#include "transformer/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "transformer/util/errors.h"

namespace qkv {

namespace fs = std::filesystem;

void io_failure(const std::string& what, const std::string& path, int err) {
  throw std::runtime_error(fmt::format("{}: {}: {} (errno {})", path, what, std::strerror(err), err));
}

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) io_failure("cannot open to flush", path, errno);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    io_failure("cannot flush", path, err);
  }
  ::close(fd);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string read_input_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot read the {}", path, what));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file_durable(const std::string& path, const std::string& contents) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_failure("cannot write", path, errno);
  for (size_t done = 0; done < contents.size();) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      io_failure("cannot write", path, err);
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    io_failure("cannot flush", path, err);
  }
  if (::close(fd) != 0) io_failure("cannot close", path, errno);
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  write_file_durable(tmp, contents);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) io_failure("cannot rename into place", path, errno);
  fsync_path(fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string(), true);
}

}  // namespace qkv
