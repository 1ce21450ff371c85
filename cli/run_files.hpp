// The files of `ptag run`: refusing outputs that would overwrite an input,
// and the final tags written whole or not at all.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace ptag::cli {

// A usage error when an output names an input or another output: the
// same file by any path or link, or (for files not yet there) the same
// path. `events` is "-" for stdin.
std::optional<std::string> outputs_clash(const std::string& events,
                                         const std::vector<std::string>& rules,
                                         const std::string& out, const std::string& tags_out);

// `--tags-out`: a temporary file next to the target, made when the run
// starts (so an unwritable place is found before any work) and renamed
// into place by commit(). Removed if never committed.
class AtomicFile {
 public:
  AtomicFile() = default;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();
  // Creates the temporary file; on failure `error` says why.
  bool open(const std::string& path, std::string& error);
  std::FILE* handle() const { return file_; }
  // Flushes, syncs and renames over the target.
  bool commit(std::string& error);

 private:
  std::string path_, temp_;
  std::FILE* file_ = nullptr;
};

}  // namespace ptag::cli
