#include "ptag/source.hpp"

#include <fstream>
#include <sstream>

namespace ptag {

FileId SourceSet::add(std::string name, std::string text) {
  files_.push_back({std::move(name), std::move(text)});
  return static_cast<FileId>(files_.size() - 1);
}

std::string_view SourceSet::line_text(const Span& span) const {
  if (!span.valid() || span.file >= files_.size()) return {};
  std::string_view text = files_[span.file].text;
  std::size_t at = std::min<std::size_t>(span.offset, text.size());
  std::size_t begin = text.rfind('\n', at == 0 ? 0 : at - 1);
  begin = (begin == std::string_view::npos || at == 0) ? 0 : begin + 1;
  if (at > 0 && text[at - 1] == '\n') begin = at;
  std::size_t end = text.find('\n', at);
  if (end == std::string_view::npos) end = text.size();
  std::string_view line = text.substr(begin, end - begin);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return false;
  out = std::move(buffer).str();
  return true;
}

}  // namespace ptag
