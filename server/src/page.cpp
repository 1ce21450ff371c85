#include "page.hpp"

#include <httplib.h>

#include <string>

namespace ptag::serve {

namespace {

std::string content_type(std::string_view path) {
  auto ends = [&](std::string_view ext) { return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

void serve(const PageFile& file, httplib::Response& res) {
  // No inline script or style, no other origin: the API's data (partner ids
  // and tags from webhooks) can never run as code in the page.
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'self'; "
                 "frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(std::string(file.body), content_type(file.path).c_str());
}

}  // namespace

void add_page(httplib::Server& server) {
  for (const PageFile& file : page_files()) {
    const PageFile* f = &file;
    std::string pattern;
    for (char c : file.path) pattern += c == '.' ? std::string("\\.") : std::string(1, c);
    server.Get(pattern, [f](const httplib::Request&, httplib::Response& res) { serve(*f, res); });
    if (file.path == "/index.html")
      server.Get("/", [f](const httplib::Request&, httplib::Response& res) { serve(*f, res); });
  }
}

}  // namespace ptag::serve
