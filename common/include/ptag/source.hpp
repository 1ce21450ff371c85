// Source files and compact spans into them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ptag {

using FileId = std::uint32_t;
inline constexpr FileId kNoFile = UINT32_MAX;

// A place in a source file. Lines and columns are 1-based; the column counts
// bytes, the renderer turns it into characters.
struct Span {
  FileId file = kNoFile;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::uint32_t offset = 0;
  std::uint32_t length = 0;

  bool valid() const { return file != kNoFile; }
};

struct SourceFile {
  std::string name;  // as given on the command line or in an import
  std::string text;
};

// Owns every file of one compilation; spans refer to files by id.
class SourceSet {
 public:
  FileId add(std::string name, std::string text);
  const SourceFile& file(FileId id) const { return files_.at(id); }
  std::size_t size() const { return files_.size(); }
  // The whole line the span starts on, without its line break.
  std::string_view line_text(const Span& span) const;

 private:
  std::vector<SourceFile> files_;
};

// Reads a whole file; returns false (and leaves `out` empty) when it cannot.
bool read_file(const std::string& path, std::string& out);

}  // namespace ptag
