// Message framing: headers, `Content-Length`, the body.
#include <charconv>
#include <optional>

#include "ptag/lsp.hpp"

namespace ptag::lsp {

static bool equal_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

MessageReader::Status MessageReader::next(std::string& body, std::string& error) {
  std::size_t end = buffer_.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (buffer_.size() <= kMaxHeader) return Status::need_more;
    error = "a header longer than 8 KiB, or bytes that are not a header";
    buffer_.clear();
    return Status::bad_header;
  }
  std::string_view header(buffer_.data(), end);
  std::optional<std::size_t> length;
  bool bad = end > kMaxHeader;
  while (!header.empty() && !bad) {
    std::size_t eol = header.find("\r\n");
    std::string_view line = header.substr(0, eol);
    header = eol == std::string_view::npos ? std::string_view{} : header.substr(eol + 2);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      bad = true;
      break;
    }
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (!equal_ignoring_case(name, "Content-Length")) continue;  // Content-Type and others
    std::size_t n = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc{} || ptr != value.data() + value.size() || n > kMaxBody) {
      bad = true;
      break;
    }
    length = n;
  }
  if (bad || !length) {
    error = bad ? "a malformed header" : "a header without Content-Length";
    buffer_.erase(0, end + 4);
    return Status::bad_header;
  }
  if (buffer_.size() < end + 4 + *length) return Status::need_more;
  body.assign(buffer_, end + 4, *length);
  buffer_.erase(0, end + 4 + *length);
  return Status::message;
}

std::string frame(std::string_view body) {
  std::string out = "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out.append(body);
  return out;
}

}  // namespace ptag::lsp
