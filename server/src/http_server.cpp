#include "http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "ptag/text.hpp"

namespace ptag::serve {

namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string error_body(std::string_view message) {
  return R"({"error":)" + json_quote(message) + "}";
}

// Undoes a body's Content-Encoding as it arrives, stopping at the limit on
// the decoded bytes: a small compressed body never becomes a large one in memory.
class BodyDecoder {
 public:
  enum class Result { ok, too_large, bad };
  BodyDecoder() = default;
  BodyDecoder(const BodyDecoder&) = delete;
  BodyDecoder& operator=(const BodyDecoder&) = delete;
  ~BodyDecoder() {
    if (inflating_) inflateEnd(&z_);
  }
  bool start_inflate() {
    std::memset(&z_, 0, sizeof z_);
    inflating_ = inflateInit2(&z_, 15 + 32) == Z_OK;  // zlib or gzip, by its header
    return inflating_;
  }
  Result feed(const char* data, std::size_t n, std::string& out, std::size_t limit) {
    if (!inflating_) {
      if (out.size() + n > limit) return Result::too_large;
      out.append(data, n);
      return Result::ok;
    }
    if (ended_) return n ? Result::bad : Result::ok;  // bytes after the end of the stream
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z_.avail_in = static_cast<uInt>(n);
    char buffer[16384];
    while (z_.avail_in > 0) {
      z_.next_out = reinterpret_cast<Bytef*>(buffer);
      z_.avail_out = sizeof buffer;
      int rc = inflate(&z_, Z_NO_FLUSH);
      std::size_t got = sizeof buffer - z_.avail_out;
      if (out.size() + got > limit) return Result::too_large;
      out.append(buffer, got);
      if (rc == Z_STREAM_END) {
        ended_ = true;
        return z_.avail_in ? Result::bad : Result::ok;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return Result::bad;
      if (rc == Z_BUF_ERROR && got == 0) break;
    }
    return Result::ok;
  }
  // The whole body has arrived: a compressed one must have ended.
  bool complete() const { return !inflating_ || ended_; }

 private:
  z_stream z_{};
  bool inflating_ = false, ended_ = false;
};

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads) {
    for (std::size_t i = 0; i < std::max<std::size_t>(1, threads); ++i)
      threads_.emplace_back([this] { loop(); });
  }
  ~WorkerPool() { stop(); }
  // False once stopping: the caller answers by itself.
  bool post(std::function<void()> job) {
    {
      std::lock_guard lock(m_);
      if (stop_) return false;
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }
  // Runs what is queued, then joins.
  void stop() {
    {
      std::lock_guard lock(m_);
      if (stop_ && threads_.empty()) return;
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(m_);
        cv_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (equal_ignoring_case(k, name)) return std::string_view(v);
  return std::nullopt;
}

bool HttpRequest::has_param(std::string_view name) const {
  return std::any_of(query.begin(), query.end(), [&](const auto& kv) { return kv.first == name; });
}

std::string HttpRequest::param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return {};
}

std::vector<std::string> HttpRequest::params(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query)
    if (k == name) out.push_back(v);
  return out;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus) {
      out += ' ';
    } else if (c == '%') {
      unsigned value = 0;
      if (i + 2 >= text.size()) return std::nullopt;
      auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec != std::errc{} || end != text.data() + i + 3) return std::nullopt;
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string ListenAddress::text() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<ListenAddress> parse_listen(std::string_view text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon), digits = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs its brackets
  int port = -1;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (host.empty() || digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || port < 0 ||
      port > 65535)
    return std::nullopt;
  return ListenAddress{std::string(host), port};
}

// One request, from its header block to the end of its answer.
struct Exchange {
  const HttpRoute* route = nullptr;
  HttpRequest request;
  HttpResponse response;
  BodyDecoder decoder;
  std::size_t raw_bytes = 0;
  bool failed = false;  // `response` is an error decided while reading
  std::atomic<bool> ready{false};
};

struct Listener {
  HttpServer::Impl* impl = nullptr;
  bool admin = false;
  MHD_Daemon* daemon = nullptr;
};

struct HttpServer::Impl {
  std::vector<HttpRoute> routes;
  HttpLimits limits;
  HttpHooks hooks;
  std::atomic<bool> split{false};
  std::vector<std::unique_ptr<Listener>> listeners;
  WorkerPool pool;

  // Open connections and the deadline each must meet (the reaper's list).
  enum class Phase : std::uint8_t { headers, body, handling, cut };
  struct Tracked {
    int fd = -1;
    Phase phase = Phase::headers;
    Clock::time_point deadline;
  };
  std::mutex conns_m;
  std::unordered_map<MHD_Connection*, Tracked> conns;
  std::mutex reaper_m;
  std::condition_variable reaper_cv;
  bool reaper_stop = false;
  std::thread reaper;

  Impl(std::vector<HttpRoute> r, HttpLimits l, HttpHooks h)
      : routes(std::move(r)), limits(l), hooks(std::move(h)), pool(l.handler_threads) {
    reaper = std::thread([this] { reap(); });
  }

  void phase(MHD_Connection* c, Phase p) {
    std::lock_guard lock(conns_m);
    auto it = conns.find(c);
    if (it == conns.end() || it->second.phase == Phase::cut) return;
    it->second.phase = p;
    Clock::time_point now = Clock::now();
    if (p == Phase::headers) it->second.deadline = now + limits.header_timeout;
    if (p == Phase::body) it->second.deadline = now + limits.body_timeout;
  }

  // Shuts down connections past their deadline; libmicrohttpd then sees
  // them end and closes them (the fd stays registered until it does).
  void reap() {
    std::unique_lock lock(reaper_m);
    while (!reaper_cv.wait_for(lock, std::chrono::milliseconds(100), [this] { return reaper_stop; })) {
      std::vector<std::string_view> cut;
      {
        std::lock_guard g(conns_m);
        Clock::time_point now = Clock::now();
        for (auto& [c, t] : conns) {
          if ((t.phase == Phase::headers || t.phase == Phase::body) && t.deadline < now) {
            ::shutdown(t.fd, SHUT_RDWR);
            cut.push_back(t.phase == Phase::headers ? "header_timeout" : "body_timeout");
            t.phase = Phase::cut;
          }
        }
      }
      if (hooks.cut)
        for (std::string_view why : cut) hooks.cut(why);
    }
  }

  // The route for a path and method, or the error answer.
  const HttpRoute* match(Exchange& x, bool admin, std::string_view raw_path) {
    std::vector<std::string_view> segments;
    for (std::size_t at = 1; at <= raw_path.size();) {
      std::size_t slash = raw_path.find('/', at);
      if (slash == std::string_view::npos) slash = raw_path.size();
      segments.push_back(raw_path.substr(at, slash - at));
      at = slash + 1;
    }
    if (raw_path.empty() || raw_path.front() != '/') return fail(x, 400, "the request's path must start with /");
    std::string allowed;
    for (const HttpRoute& route : routes) {
      std::vector<std::string> found;
      std::string_view pattern = route.pattern;
      std::size_t s = 0, at = 1;
      bool ok = true;
      for (; ok && at <= pattern.size(); ++s) {
        std::size_t slash = pattern.find('/', at);
        if (slash == std::string_view::npos) slash = pattern.size();
        std::string_view want = pattern.substr(at, slash - at);
        at = slash + 1;
        if (s >= segments.size()) {
          ok = false;
        } else if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
          if (segments[s].empty()) ok = false;
          else found.emplace_back(segments[s]);
        } else {
          ok = want == segments[s];
        }
      }
      if (!ok || s != segments.size()) continue;
      // HEAD is GET without the body (libmicrohttpd leaves the body out): health checkers use it.
      std::string_view method = x.request.method == "HEAD" ? std::string_view("GET") : x.request.method;
      if (route.method != method) {
        allowed += (allowed.empty() ? "" : ", ") + route.method;
        continue;
      }
      if (split && !admin && !route.public_side)
        return fail(x, 404, "no such endpoint on this address: " + x.request.method + " " + std::string(raw_path) +
                                " is served on admin_listen");
      for (std::string& p : found) {
        std::optional<std::string> decoded = percent_decode(p, false);
        if (!decoded) return fail(x, 400, "the path has a malformed %-escape");
        p = std::move(*decoded);
      }
      x.request.path_params = std::move(found);
      return &route;
    }
    if (!allowed.empty()) {
      fail(x, 405, x.request.method + " is not allowed on " + std::string(raw_path) + ": use " + allowed);
      x.response.set_header("Allow", allowed);
      return nullptr;
    }
    return fail(x, 404, "no such endpoint: " + x.request.method + " " + std::string(raw_path));
  }

  const HttpRoute* fail(Exchange& x, int status, std::string_view message) {
    x.failed = true;
    x.response = HttpResponse{status, "application/json", error_body(message), {}};
    return nullptr;
  }

  // The header block is in: check it whole before any body is read.
  void begin(Exchange& x, MHD_Connection* c, std::string_view url, bool admin) {
    x.request.path = std::string(url);
    MHD_get_connection_values(
        c, MHD_HEADER_KIND,
        [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          static_cast<HttpRequest*>(cls)->headers.emplace_back(lower(key), value ? value : "");
          return MHD_YES;
        },
        &x.request);
    bool bad_query = false;
    struct Q {
      HttpRequest* r;
      bool* bad;
    } q{&x.request, &bad_query};
    MHD_get_connection_values(
        c, MHD_GET_ARGUMENT_KIND,
        [](void* cls, MHD_ValueKind, const char* key, const char* value) -> MHD_Result {
          auto* into = static_cast<Q*>(cls);
          std::optional<std::string> k = percent_decode(key ? key : "", true);
          std::optional<std::string> v = percent_decode(value ? value : "", true);
          if (!k || !v) *into->bad = true;
          else into->r->query.emplace_back(std::move(*k), std::move(*v));
          return MHD_YES;
        },
        &q);
    if (const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) {
      char text[INET6_ADDRSTRLEN] = "";
      const sockaddr* a = info->client_addr;
      if (a && a->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr, text, sizeof text);
      else if (a && a->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, text, sizeof text);
      x.request.client = text;
    }
    const HttpRequest& r = x.request;
    // Our own limits, with messages of their own; libmicrohttpd's memory limit
    // (twice as large) only stops what is far beyond them.
    std::size_t uri = r.path.size(), header_bytes = 0;
    for (const auto& [k, v] : r.query) uri += k.size() + v.size() + 2;
    for (const auto& [k, v] : r.headers) header_bytes += k.size() + v.size() + 4;
    if (uri > limits.max_header_bytes)
      return void(fail(x, 414, "the request's URI is longer than max_header_bytes (" +
                                   std::to_string(limits.max_header_bytes) + ")"));
    if (header_bytes > limits.max_header_bytes)
      return void(fail(x, 431, "the request's headers are larger than max_header_bytes (" +
                                   std::to_string(limits.max_header_bytes) + ")"));
    if (r.headers.size() > limits.max_headers) {
      fail(x, 431, "too many header fields (more than " + std::to_string(limits.max_headers) + ")");
      return;
    }
    // One length, written as digits only; one known transfer coding. A
    // request that two parsers could read two ways is refused.
    std::optional<std::string_view> length, transfer;
    for (const auto& [k, v] : r.headers) {
      if (k == "content-length") {
        if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 18)
          return void(fail(x, 400, "Content-Length must be a whole number of bytes, not " + json_quote(v)));
        if (length && *length != v) return void(fail(x, 400, "two different Content-Length headers"));
        length = v;
      }
      if (k == "transfer-encoding") {
        if (transfer) return void(fail(x, 400, "more than one Transfer-Encoding header"));
        transfer = v;
      }
    }
    if (transfer && !equal_ignoring_case(*transfer, "chunked"))
      return void(fail(x, 400, "Transfer-Encoding " + json_quote(*transfer) + " is not supported: use chunked or Content-Length"));
    if (transfer && length) return void(fail(x, 400, "both Content-Length and Transfer-Encoding: send one"));
    if (bad_query) return void(fail(x, 400, "the query string has a malformed %-escape"));
    x.route = match(x, admin, url);
    if (!x.route) return;
    if (x.route->access != Access::anyone && hooks.authorize && !hooks.authorize(x.route->access, r)) {
      x.failed = true;
      x.response = HttpResponse{401, "application/json", hooks.unauthorized, {}};
      return;
    }
    std::uint64_t declared = length ? std::stoull(std::string(*length)) : 0;
    std::optional<std::string_view> encoding = r.header("content-encoding");
    bool encoded = encoding && !equal_ignoring_case(*encoding, "identity");
    if (declared > limits.max_body_bytes)
      return void(fail(x, 413, "the body is larger than max_body_bytes (" + std::to_string(limits.max_body_bytes) + ")"));
    if (!x.route->takes_body) return;
    if (!length && !transfer)
      return void(fail(x, 411, "this endpoint needs a body with a Content-Length (or chunked): send it with "
                               "curl --data-binary @FILE"));
    if (encoded) {
      if (!equal_ignoring_case(*encoding, "gzip") && !equal_ignoring_case(*encoding, "x-gzip") &&
          !equal_ignoring_case(*encoding, "deflate"))
        return void(fail(x, 415, "Content-Encoding " + json_quote(*encoding) + " is not supported: gzip, deflate or none"));
      if (!x.decoder.start_inflate()) return void(fail(x, 500, "cannot start decompressing"));
    }
  }

  // A body chunk; false when the connection must close (more than the limit
  // of bytes arrived on a request that is already refused).
  bool body(Exchange& x, const char* data, std::size_t n) {
    x.raw_bytes += n;
    if (x.failed || !x.route->takes_body) return x.raw_bytes <= limits.max_body_bytes;
    BodyDecoder::Result r = x.decoder.feed(data, n, x.request.body, limits.max_body_bytes);
    if (r == BodyDecoder::Result::too_large)
      fail(x, 413, "the body is larger than max_body_bytes (" + std::to_string(limits.max_body_bytes) +
                       ") once decoded");
    if (r == BodyDecoder::Result::bad) fail(x, 400, "the body is not valid for its Content-Encoding");
    if (x.failed) x.request.body.clear();
    return true;
  }

  static MHD_Result queue(MHD_Connection* c, Exchange& x) {
    HttpResponse& res = x.response;
    MHD_Response* r =
        MHD_create_response_from_buffer(res.body.size(), res.body.data(), MHD_RESPMEM_PERSISTENT);  // x outlives it
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", res.type.c_str());
    for (const auto& [k, v] : res.headers) MHD_add_response_header(r, k.c_str(), v.c_str());
    MHD_Result ok = MHD_queue_response(c, static_cast<unsigned>(res.status), r);
    MHD_destroy_response(r);
    return ok;
  }

  MHD_Result on_request(Listener& l, MHD_Connection* c, const char* url, const char* method, const char* upload,
                        std::size_t* size, void** context) {
    auto* x = static_cast<Exchange*>(*context);
    if (!x) {
      x = new Exchange;
      *context = x;
      x->request.method = method;
      begin(*x, c, url, l.admin);
      if (x->failed) return queue(c, *x);  // before the body: 100-continue is never sent
      phase(c, Phase::body);
      return MHD_YES;
    }
    if (*size != 0) {
      bool keep = body(*x, upload, *size);
      *size = 0;
      return keep ? MHD_YES : MHD_NO;
    }
    if (x->ready) return queue(c, *x);
    if (!x->failed && !x->decoder.complete()) fail(*x, 400, "the compressed body ends early");
    if (x->failed) return queue(c, *x);
    phase(c, Phase::handling);
    MHD_suspend_connection(c);
    bool posted = pool.post([x, c] {
      try {
        x->route->handler(x->request, x->response);
      } catch (const std::exception& e) {
        x->response = HttpResponse{500, "application/json", error_body(e.what()), {}};
      }
      x->ready = true;
      MHD_resume_connection(c);
    });
    if (!posted) {
      fail(*x, 503, "stopping");
      x->ready = true;
      MHD_resume_connection(c);
    }
    return MHD_YES;
  }

  void connection(MHD_Connection* c, MHD_ConnectionNotificationCode code) {
    long open = 0;
    {
      std::lock_guard lock(conns_m);
      if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conns[c] = Tracked{info ? info->connect_fd : -1, Phase::headers, Clock::now() + limits.header_timeout};
      } else {
        conns.erase(c);
      }
      open = static_cast<long>(conns.size());
    }
    if (hooks.connections) hooks.connections(open);
  }
};

namespace {

MHD_Result access_handler(void* cls, MHD_Connection* c, const char* url, const char* method, const char*,
                          const char* upload, std::size_t* size, void** context) {
  auto* l = static_cast<Listener*>(cls);
  return l->impl->on_request(*l, c, url, method, upload, size, context);
}

void completed(void* cls, MHD_Connection* c, void** context, MHD_RequestTerminationCode) {
  delete static_cast<Exchange*>(*context);
  *context = nullptr;
  static_cast<HttpServer::Impl*>(cls)->phase(c, HttpServer::Impl::Phase::headers);
}

void notify_connection(void* cls, MHD_Connection* c, void**, MHD_ConnectionNotificationCode code) {
  static_cast<HttpServer::Impl*>(cls)->connection(c, code);
}

// The path as sent: ids are decoded once, per segment, after routing.
std::size_t keep_escapes(void*, MHD_Connection*, char* s) {
  return std::strlen(s);
}

void quiet(void*, const char*, va_list) {}

}  // namespace

HttpServer::HttpServer(std::vector<HttpRoute> routes, HttpLimits limits, HttpHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(routes), limits, std::move(hooks))) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::set_split(bool split) {
  impl_->split = split;
}

HttpServer::Bound HttpServer::listen(const ListenAddress& address, bool admin_side) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(address.port);
  if (int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return {-1, "cannot listen on " + address.text() + ": " + gai_strerror(rc)};
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> hold(found, freeaddrinfo);
  int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return {-1, "cannot listen on " + address.text() + ": " + std::strerror(errno)};
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (found->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return {-1, "cannot listen on " + address.text() + ": " + why};
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  int actual = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                 : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  auto l = std::make_unique<Listener>();
  l->impl = impl_.get();
  l->admin = admin_side;
  const HttpLimits& lim = impl_->limits;
  auto idle = static_cast<unsigned>(
      std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(std::max(lim.header_timeout, lim.body_timeout)).count() + 1));
  l->daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0,
      nullptr, nullptr, &access_handler, l.get(),
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(fd),
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned>(lim.max_connections),
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, static_cast<unsigned>(lim.max_connections_per_client),
      MHD_OPTION_CONNECTION_TIMEOUT, idle,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<std::size_t>(2 * lim.max_header_bytes + 4096),
      MHD_OPTION_NOTIFY_COMPLETED, &completed, impl_.get(),
      MHD_OPTION_NOTIFY_CONNECTION, &notify_connection, impl_.get(),
      MHD_OPTION_UNESCAPE_CALLBACK, &keep_escapes, nullptr,
      MHD_OPTION_EXTERNAL_LOGGER, &quiet, nullptr,
      MHD_OPTION_END);
  if (!l->daemon) {
    ::close(fd);
    return {-1, "cannot start the HTTP server on " + address.text()};
  }
  impl_->listeners.push_back(std::move(l));
  return {actual, ""};
}

void HttpServer::stop() {
  if (!impl_) return;
  for (auto& l : impl_->listeners) {
    MHD_socket fd = MHD_quiesce_daemon(l->daemon);  // no new connections
    if (fd != MHD_INVALID_SOCKET) ::close(fd);
  }
  impl_->pool.stop();  // requests being handled finish and resume their connections
  // Give resumed connections a moment to send their answers.
  for (int i = 0; i < 50; ++i) {
    bool busy = false;
    {
      std::lock_guard lock(impl_->conns_m);
      for (const auto& [c, t] : impl_->conns) busy |= t.phase == Impl::Phase::handling;
    }
    if (!busy) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& l : impl_->listeners) MHD_stop_daemon(l->daemon);
  impl_->listeners.clear();
  {
    std::lock_guard lock(impl_->reaper_m);
    impl_->reaper_stop = true;
  }
  impl_->reaper_cv.notify_all();
  if (impl_->reaper.joinable()) impl_->reaper.join();
}

}  // namespace ptag::serve
