// The partners page's files (server/page, built into the binary) and the
// routes that serve them without a token: they hold no data, the page reads
// everything through the token-checked JSON API.
#pragma once

#include <string_view>
#include <vector>

namespace ptag::serve {

struct RouteTable;

struct PageFile {
  std::string_view path;  // "/index.html", "/app.js", ...
  std::string_view body;
};
const std::vector<PageFile>& page_files();

// GET / (the page, whatever the query) and GET /<file> for each file.
void add_page(RouteTable& table);

}  // namespace ptag::serve
