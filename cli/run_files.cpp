#include "run_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace ptag::cli {
namespace {

namespace fs = std::filesystem;

// What identifies a file: its device and inode when it exists, else its
// absolute path with links resolved as far as they go.
struct Identity {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  fs::path path;

  bool operator==(const Identity& o) const {
    return exists == o.exists && (exists ? device == o.device && inode == o.inode : path == o.path);
  }
};

Identity identify(const std::string& name) {
  Identity id;
  struct stat st {};
  if (name == "-" ? fstat(STDIN_FILENO, &st) == 0 : stat(name.c_str(), &st) == 0) {
    // stdin from a pipe or terminal is no file an output could name.
    if (name == "-" && !S_ISREG(st.st_mode)) return {false, 0, 0, "<stdin>"};
    id.exists = true;
    id.device = st.st_dev;
    id.inode = st.st_ino;
    return id;
  }
  std::error_code ec;
  id.path = fs::weakly_canonical(fs::absolute(name, ec), ec);
  return id;
}

}  // namespace

std::optional<std::string> outputs_clash(const std::string& events,
                                         const std::vector<std::string>& rules,
                                         const std::string& out, const std::string& tags_out) {
  struct Named {
    std::string option, name;
    Identity id;
  };
  std::vector<Named> inputs, outputs;
  inputs.push_back({"--events file", events == "-" ? "stdin" : events, identify(events)});
  for (const std::string& r : rules) inputs.push_back({"rule file", r, identify(r)});
  if (!out.empty()) outputs.push_back({"--out", out, identify(out)});
  if (!tags_out.empty()) outputs.push_back({"--tags-out", tags_out, identify(tags_out)});
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    for (const Named& in : inputs) {
      if (outputs[o].id == in.id) {
        return outputs[o].option + " '" + outputs[o].name + "' is the " + in.option + " '" +
               in.name + "': writing it would destroy the input";
      }
    }
    for (std::size_t p = 0; p < o; ++p) {
      if (outputs[o].id == outputs[p].id) {
        return outputs[p].option + " and " + outputs[o].option + " name the same file '" +
               outputs[o].name + "'";
      }
    }
  }
  return std::nullopt;
}

AtomicFile::~AtomicFile() {
  if (file_) {
    std::fclose(file_);
    ::unlink(temp_.c_str());
  }
}

bool AtomicFile::open(const std::string& path, std::string& error) {
  path_ = path;
  fs::path target(path);
  fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  temp_ = (folder / ("." + target.filename().string() + ".XXXXXX")).string();
  int fd = ::mkstemp(temp_.data());
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  // mkstemp makes the file private; the result should look like any file made here.
  mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  file_ = ::fdopen(fd, "wb");
  if (!file_) {
    error = std::strerror(errno);
    ::close(fd);
    ::unlink(temp_.c_str());
    return false;
  }
  return true;
}

bool AtomicFile::commit(std::string& error) {
  bool ok = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  if (!ok) error = std::strerror(errno);
  if (std::fclose(file_) != 0 && ok) {
    error = std::strerror(errno);
    ok = false;
  }
  file_ = nullptr;
  if (ok && std::rename(temp_.c_str(), path_.c_str()) != 0) {
    error = std::strerror(errno);
    ok = false;
  }
  if (!ok) ::unlink(temp_.c_str());
  return ok;
}

}  // namespace ptag::cli
