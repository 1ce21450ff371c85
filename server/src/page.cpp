#include "page.hpp"

#include "http_common.hpp"

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

void serve(const PageFile& file, HttpResponse& res) {
  // No inline script or style, no other origin: the API's data (partner ids
  // and tags from webhooks) can never run as code in the page.
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; img-src 'self' data: blob:; base-uri 'none'; form-action 'self'; "
                 "frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-cache");
  res.type = content_type(file.path);
  res.body = std::string(file.body);
}

}  // namespace

void add_page(RouteTable& table) {
  for (const PageFile& file : page_files()) {
    const PageFile* f = &file;
    HttpHandler handler = [f](const HttpRequest&, HttpResponse& res) { serve(*f, res); };
    table.add({"GET", std::string(file.path), Access::anyone, false, false, handler});
    if (file.path == "/index.html") table.add({"GET", "/", Access::anyone, false, false, handler});
  }
}

}  // namespace ptag::serve
