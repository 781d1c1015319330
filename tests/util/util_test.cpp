// The torch-free utilities: checksums against FNV-1a's published test vectors, and atomic writes
// that replace a file whole and report failures with the path and errno.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "helpers.h"
#include "transformer/util/atomic_file.h"
#include "transformer/util/checksum.h"

using namespace qkv;

TEST_CASE("FNV-1a 64 matches the reference test vectors", "[util]") {
  // From the FNV reference (Fowler, Noll, Vo): the offset basis for the empty string.
  CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
  CHECK(checksum_hex("a") == "af63dc4c8601ec8c");
}

TEST_CASE("write_file_atomic replaces a file whole and leaves no temporary behind", "[util]") {
  test::ScratchDir dir("util-atomic");
  const std::string path = dir / "f.txt";
  write_file_atomic(path, "first");
  write_file_atomic(path, "second, longer");
  CHECK(read_file(path) == "second, longer");
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  CHECK(file_checksum(path) == checksum_hex("second, longer"));
}

TEST_CASE("a write that cannot happen names the path and errno and keeps the old file", "[util]") {
  if (::geteuid() == 0) {
    // root writes through permission bits; a missing directory fails for everyone.
    test::ScratchDir dir("util-missing");
    const std::string path = dir / "no/such/f.txt";
    CHECK_THROWS_WITH(write_file_atomic(path, "x"), Catch::Contains(path + ".tmp: cannot write") && Catch::Contains("errno 2"));
    return;
  }
  test::ScratchDir dir("util-readonly");
  const std::string path = dir / "f.txt";
  write_file_atomic(path, "kept");
  ::chmod(dir.path().c_str(), 0500);
  CHECK_THROWS_WITH(write_file_atomic(path, "lost"), Catch::Contains("errno 13"));
  ::chmod(dir.path().c_str(), 0700);
  CHECK(read_file(path) == "kept");
}
