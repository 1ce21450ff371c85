// The HTTP layer of `ptag serve`, on libmicrohttpd (docs/serve.md, "Limits"):
// one event-driven I/O thread per listener (epoll) reads requests; a whole
// request (headers, then a body within its limits) goes to a pool of handler
// threads while its connection is suspended. Slow or idle connections cost a
// socket and a little memory, never a thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptag::serve {

struct HttpRequest {
  std::string method;
  std::string path;                 // as sent (percent-encoded), without the query
  std::vector<std::string> path_params;  // the route's {name} segments, decoded once
  std::vector<std::pair<std::string, std::string>> query;    // decoded, in order, repeats kept
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;                 // decoded (Content-Encoding undone)
  std::string client;               // the peer's address

  // The first header of that name (any case), or none.
  std::optional<std::string_view> header(std::string_view name) const;
  bool has_param(std::string_view name) const;
  // The first value of a query parameter; "" when absent.
  std::string param(std::string_view name) const;
  std::vector<std::string> params(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  void set_header(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

using HttpHandler = std::function<void(const HttpRequest&, HttpResponse&)>;

// Who may call a route; the server asks `Authorize` for all but `anyone`.
enum class Access : std::uint8_t { anyone, ingest, read, admin, source };

struct HttpRoute {
  std::string method;   // "GET", "POST"
  std::string pattern;  // "/v1/partners/{id}/history": {name} is one path segment; also the metrics label
  Access access = Access::anyone;
  bool takes_body = false;  // a body is read (and 411 without a length); otherwise it is discarded unread
  bool public_side = false;  // served on `listen` when an `admin_listen` exists
  HttpHandler handler;
};

struct HttpLimits {
  std::size_t max_body_bytes = 1 << 20;    // decoded bytes
  std::size_t max_header_bytes = 16 << 10;  // the request line and headers together
  std::size_t max_headers = 100;
  std::size_t max_connections = 4096;
  std::size_t max_connections_per_client = 256;
  std::chrono::milliseconds header_timeout{10'000};  // from ready for a request to its whole header block
  std::chrono::milliseconds body_timeout{60'000};    // from the header block to the whole body
  std::size_t handler_threads = 32;
};

// What the server reports, for metrics and logs.
struct HttpHooks {
  // A connection closed by a limit: "header_timeout", "body_timeout".
  std::function<void(std::string_view reason)> cut;
  std::function<void(long open)> connections;
  // Decides Access::ingest/read/admin/source before the body is read; a
  // false answer is a 401 with `unauthorized` as its body.
  std::function<bool(Access, const HttpRequest&)> authorize;
  std::string unauthorized;
};

// A listening address: "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:0".
struct ListenAddress {
  std::string host;  // without brackets
  int port = 0;
  std::string text() const;  // with brackets for IPv6
};
std::optional<ListenAddress> parse_listen(std::string_view text);

class HttpServer {
 public:
  HttpServer(std::vector<HttpRoute> routes, HttpLimits limits, HttpHooks hooks);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving; `admin`: this listener serves every route
  // (the first listener serves all routes unless an admin listener exists,
  // then only public_side ones). The bound port, or an error message.
  struct Bound {
    int port = -1;
    std::string error;
  };
  Bound listen(const ListenAddress& address, bool admin_side);
  // Which routes the first listener serves once an admin listener is added.
  void set_split(bool split);
  // Stops accepting, finishes the requests being handled, closes connections.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding; `plus`: '+' is a space (query strings). None if malformed.
std::optional<std::string> percent_decode(std::string_view text, bool plus);

}  // namespace ptag::serve
