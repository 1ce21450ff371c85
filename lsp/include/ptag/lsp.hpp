// `ptag lsp`: the Language Server Protocol (3.17) over stdin and stdout.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace ptag::lsp {

struct ServerOptions {
  int debounce_ms = 200;  // diagnostics wait this long after the last change
  bool stdio = true;      // the only transport; `--stdio` is accepted for clients that pass it
};

// Serves one client on two file descriptors until `exit` or the end of the
// input. Returns the exit code: 0 only after a `shutdown` request.
int serve(int in_fd, int out_fd, const ServerOptions& options);

// Registers `ptag lsp` and its options; the returned function runs it.
std::function<int()> add_lsp_command(CLI::App& app);

// Splits a byte stream into messages framed by `Content-Length` headers.
class MessageReader {
 public:
  enum class Status { message, need_more, bad_header };
  // Sizes beyond these are refused (the header is dropped and reading resumes).
  static constexpr std::size_t kMaxHeader = 8 * 1024;
  static constexpr std::size_t kMaxBody = 64 * 1024 * 1024;

  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next message's body, or need_more; bad_header sets `error` and skips
  // the broken header.
  Status next(std::string& body, std::string& error);

 private:
  std::string buffer_;
};

// `Content-Length: N\r\n\r\n` and the body.
std::string frame(std::string_view body);

}  // namespace ptag::lsp
