// JSON-RPC over stdio: the lifecycle, the debounce of diagnostics, and the
// conversion of the workspace's answers to the protocol's JSON. The only file
// that includes nlohmann/json (it is slow to compile).
#include <CLI/CLI.hpp>
#include <poll.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "ptag/lsp.hpp"
#include "ptag/lsp_analysis.hpp"

#ifndef PTAG_VERSION
#define PTAG_VERSION "unknown"
#endif

namespace ptag::lsp {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// JSON-RPC and LSP error codes.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kServerNotInitialized = -32002;
constexpr int kRequestFailed = -32803;

struct RpcError {
  int code;
  std::string message;
};

void log(const std::string& text) {
  std::fprintf(stderr, "ptag lsp: %s\n", text.c_str());
}

json to_json(const Position& p) {
  return {{"line", p.line}, {"character", p.character}};
}
json to_json(const Range& r) {
  return {{"start", to_json(r.start)}, {"end", to_json(r.end)}};
}
json to_json(const Location& l) {
  return {{"uri", l.uri}, {"range", to_json(l.range)}};
}
json to_json(const FileDiagnostic& d) {
  json out = {{"range", to_json(d.range)},
              {"severity", d.error ? 1 : 2},
              {"code", d.code},
              {"source", "ptag"},
              {"message", d.message}};
  if (!d.related.empty()) {
    json related = json::array();
    for (const RelatedInfo& r : d.related)
      related.push_back({{"location", to_json(r.location)}, {"message", r.message}});
    out["relatedInformation"] = related;
  }
  return out;
}
json to_json(const TextEdit& e) {
  return {{"range", to_json(e.range)}, {"newText", e.text}};
}
json to_json(const Symbol& s) {
  // The protocol's SymbolKind numbers.
  int kind = s.kind == SymbolKind::rule       ? 12   // Function
             : s.kind == SymbolKind::test     ? 6    // Method
             : s.kind == SymbolKind::constant ? 14   // Constant
             : s.kind == SymbolKind::group    ? 10   // Enum
                                              : 22;  // EnumMember
  json out = {{"name", s.name.empty() ? "\"\"" : s.name},
              {"kind", kind},
              {"range", to_json(s.range)},
              {"selectionRange", to_json(s.selection)}};
  if (!s.detail.empty()) out["detail"] = s.detail;
  if (!s.children.empty()) {
    out["children"] = json::array();
    for (const Symbol& c : s.children) out["children"].push_back(to_json(c));
  }
  return out;
}

Position position_of(const json& params) {
  const json& p = params.at("position");
  return {p.at("line").get<std::uint32_t>(), p.at("character").get<std::uint32_t>()};
}
std::string uri_of(const json& params) {
  return params.at("textDocument").at("uri").get<std::string>();
}

class Server {
 public:
  Server(int out_fd, const ServerOptions& options) : out_(out_fd), options_(options) {}

  // Handles one message body; returns the exit code once `exit` came.
  std::optional<int> handle(const std::string& body) {
    json message = json::parse(body, nullptr, false);
    if (message.is_discarded()) {
      log("a message that is not JSON");
      respond_error(nullptr, {kParseError, "the message is not valid JSON"});
      return std::nullopt;
    }
    if (!message.is_object()) {
      respond_error(nullptr, {kInvalidRequest, "a message must be a JSON object"});
      return std::nullopt;
    }
    json id = message.contains("id") ? message["id"] : json();
    bool request = message.contains("id");
    if (request && !id.is_number_integer() && !id.is_string()) {
      respond_error(nullptr, {kInvalidRequest, "a request's id must be an integer or a string"});
      return std::nullopt;
    }
    auto method = message.find("method");
    if (method == message.end() || !method->is_string()) {
      if (request && (message.contains("result") || message.contains("error"))) return std::nullopt;
      respond_error(id, {kInvalidRequest, "a request needs a method"});
      return std::nullopt;
    }
    const std::string name = method->get<std::string>();
    const json params = message.contains("params") ? message["params"] : json::object();
    if (name == "exit") return shutdown_ ? 0 : 1;
    if (!initialized_ && name != "initialize") {
      if (request) respond_error(id, {kServerNotInitialized, "the server is not initialized yet"});
      return std::nullopt;
    }
    if (shutdown_) {
      if (request) respond_error(id, {kInvalidRequest, "the server is shutting down"});
      return std::nullopt;
    }
    try {
      if (request) {
        json result = call(name, params);
        send({{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
      } else {
        notify(name, params);
      }
    } catch (const RpcError& e) {
      if (request) respond_error(id, e);
      else log(name + ": " + e.message);
    } catch (const json::exception& e) {
      if (request) respond_error(id, {kInvalidParams, std::string("bad params: ") + e.what()});
      else log(name + ": bad params: " + e.what());
    } catch (const std::exception& e) {
      if (request) respond_error(id, {kInternalError, e.what()});
      else log(name + ": " + e.what());
    }
    return std::nullopt;
  }

  // Milliseconds until the debounced diagnostics are due (-1: none).
  int wait_ms() const {
    if (!due_) return -1;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*due_ - Clock::now());
    return static_cast<int>(std::max<std::int64_t>(0, left.count()));
  }
  void tick() {
    if (!due_ || Clock::now() < *due_) return;
    try {
      refresh();
    } catch (const std::exception& e) {  // an implementation limit, or out of memory
      log(std::string("checking failed: ") + e.what());
    }
  }
  bool failed() const { return write_failed_; }
  bool shut_down() const { return shutdown_; }

 private:
  void send(const json& message) {
    if (write_failed_) return;
    std::string text = frame(message.dump(-1, ' ', false, json::error_handler_t::replace));
    std::size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(out_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        log("cannot write to the client");
        write_failed_ = true;
        return;
      }
      done += static_cast<std::size_t>(n);
    }
  }
  void respond_error(const json& id, const RpcError& e) {
    send({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", e.code}, {"message", e.message}}}});
  }

  // Analyzes now and publishes what changed.
  void refresh() {
    due_.reset();
    workspace_.analyze();
    for (const FileDiagnostics& f : workspace_.diagnostics()) {
      json list = json::array();
      for (const FileDiagnostic& d : f.diagnostics) list.push_back(to_json(d));
      json params = {{"uri", f.uri}, {"diagnostics", list}};
      if (f.version) params["version"] = *f.version;
      std::string key = params.dump(-1, ' ', false, json::error_handler_t::replace);
      if (!f.version) {
        published_.erase(f.uri);
      } else if (published_[f.uri] == key) {
        continue;
      } else {
        published_[f.uri] = key;
      }
      send({{"jsonrpc", "2.0"}, {"method", "textDocument/publishDiagnostics"}, {"params", params}});
    }
  }
  // Answers come from the latest text: a pending change is analyzed first.
  void settle() {
    if (due_) refresh();
  }
  void need_open(const std::string& uri) {
    if (!workspace_.is_open(uri)) throw RpcError{kInvalidParams, "the document is not open: " + uri};
  }

  json initialize(const json& params) {
    initialized_ = true;
    std::string root;
    if (params.contains("workspaceFolders") && params["workspaceFolders"].is_array() &&
        !params["workspaceFolders"].empty())
      root = uri_to_path(params["workspaceFolders"][0].value("uri", ""));
    if (root.empty() && params.contains("rootUri") && params["rootUri"].is_string())
      root = uri_to_path(params["rootUri"].get<std::string>());
    if (root.empty() && params.contains("rootPath") && params["rootPath"].is_string())
      root = params["rootPath"].get<std::string>();
    workspace_.set_root(root);
    const json* item = nullptr;
    if (auto c = params.find("capabilities"); c != params.end() && c->is_object()) {
      json::json_pointer ptr("/textDocument/completion/completionItem");
      if (c->contains(ptr)) item = &c->at(ptr);
    }
    snippets_ = item && item->is_object() && item->value("snippetSupport", false);
    return {{"capabilities",
             {{"positionEncoding", "utf-16"},
              {"textDocumentSync", {{"openClose", true}, {"change", 1}}},
              {"hoverProvider", true},
              {"definitionProvider", true},
              {"referencesProvider", true},
              {"documentSymbolProvider", true},
              {"documentFormattingProvider", true},
              {"completionProvider", {{"triggerCharacters", {"\""}}}},
              {"codeActionProvider", {{"codeActionKinds", {"quickfix"}}}}}},
            {"serverInfo", {{"name", "ptag"}, {"version", PTAG_VERSION}}}};
  }

  json call(const std::string& name, const json& params) {
    if (name == "initialize") {
      if (initialized_) throw RpcError{kInvalidRequest, "initialize may be sent only once"};
      return initialize(params);
    }
    if (name == "shutdown") {
      shutdown_ = true;
      return nullptr;
    }
    if (!name.starts_with("textDocument/")) throw RpcError{kMethodNotFound, "unknown method " + name};
    const std::string uri = uri_of(params);
    settle();
    if (name == "textDocument/hover") {
      need_open(uri);
      std::optional<Hover> h = workspace_.hover(uri, position_of(params));
      if (!h) return nullptr;
      return {{"contents", {{"kind", "markdown"}, {"value", h->markdown}}}, {"range", to_json(h->range)}};
    }
    if (name == "textDocument/definition" || name == "textDocument/references") {
      need_open(uri);
      bool declaration = params.contains("context") && params["context"].value("includeDeclaration", false);
      std::vector<Location> found = name == "textDocument/definition"
                                        ? workspace_.definition(uri, position_of(params))
                                        : workspace_.references(uri, position_of(params), declaration);
      json out = json::array();
      for (const Location& l : found) out.push_back(to_json(l));
      return out;
    }
    if (name == "textDocument/documentSymbol") {
      need_open(uri);
      json out = json::array();
      for (const Symbol& s : workspace_.symbols(uri)) out.push_back(to_json(s));
      return out;
    }
    if (name == "textDocument/formatting") {
      need_open(uri);
      FormatResult r = workspace_.format(uri);
      if (!r.error.empty()) throw RpcError{kRequestFailed, r.error};
      json out = json::array();
      for (const TextEdit& e : r.edits) out.push_back(to_json(e));
      return out;
    }
    if (name == "textDocument/completion") {
      need_open(uri);
      return completion(workspace_.completion(uri, position_of(params)));
    }
    if (name == "textDocument/codeAction") {
      need_open(uri);
      const json& r = params.at("range");
      Range range{{r.at("start").at("line").get<std::uint32_t>(), r.at("start").at("character").get<std::uint32_t>()},
                  {r.at("end").at("line").get<std::uint32_t>(), r.at("end").at("character").get<std::uint32_t>()}};
      json out = json::array();
      for (const CodeAction& a : workspace_.code_actions(uri, range)) {
        out.push_back({{"title", a.title},
                       {"kind", "quickfix"},
                       {"isPreferred", true},
                       {"diagnostics", {to_json(a.diagnostic)}},
                       {"edit", {{"changes", {{a.uri, {to_json(a.edit)}}}}}}});
      }
      return out;
    }
    throw RpcError{kMethodNotFound, "unknown method " + name};
  }

  json completion(const std::vector<CompletionItem>& items) const {
    json out = json::array();
    for (const CompletionItem& c : items) {
      if (c.snippet && !snippets_) continue;
      // The protocol's CompletionItemKind numbers.
      int kind = c.kind == CompletionKind::keyword    ? 14   // Keyword
                 : c.kind == CompletionKind::trigger  ? 23   // Event
                 : c.kind == CompletionKind::metric   ? 6    // Variable
                 : c.kind == CompletionKind::tag      ? 12   // Value
                 : c.kind == CompletionKind::constant ? 21   // Constant
                 : c.kind == CompletionKind::unit     ? 11   // Unit
                                                      : 15;  // Snippet
      json item = {{"label", c.label}, {"kind", kind}};
      if (!c.detail.empty()) item["detail"] = c.detail;
      if (!c.documentation.empty()) item["documentation"] = c.documentation;
      if (c.replace) {
        item["textEdit"] = {{"range", to_json(*c.replace)}, {"newText", c.label}};
        item["filterText"] = c.label;
      } else if (!c.insert_text.empty()) {
        item["insertText"] = c.insert_text;
      }
      if (c.snippet) item["insertTextFormat"] = 2;
      out.push_back(item);
    }
    return out;
  }

  void notify(const std::string& name, const json& params) {
    if (name == "textDocument/didOpen") {
      const json& doc = params.at("textDocument");
      workspace_.open(doc.at("uri").get<std::string>(), doc.at("text").get<std::string>(),
                      doc.value("version", 0));
      refresh();
    } else if (name == "textDocument/didChange") {
      const json& doc = params.at("textDocument");
      const json& changes = params.at("contentChanges");
      if (!changes.is_array() || changes.empty()) return;
      // Full sync: the last change holds the whole text.
      std::string uri = doc.at("uri").get<std::string>();
      if (!workspace_.change(uri, changes.back().at("text").get<std::string>(), doc.value("version", 0))) {
        log("a change to a document that is not open: " + uri);
        return;
      }
      due_ = Clock::now() + std::chrono::milliseconds(options_.debounce_ms);
    } else if (name == "textDocument/didClose") {
      workspace_.close(uri_of(params));
      refresh();
    }
    // initialized, didSave, $/cancelRequest, $/setTrace and others need nothing.
  }

  int out_;
  ServerOptions options_;
  Workspace workspace_;
  bool initialized_ = false;
  bool shutdown_ = false;
  bool snippets_ = false;
  bool write_failed_ = false;
  std::optional<Clock::time_point> due_;
  std::map<std::string, std::string> published_;
};

}  // namespace

int serve(int in_fd, int out_fd, const ServerOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);  // a client gone is a write error, not a kill
  Server server(out_fd, options);
  MessageReader reader;
  char buffer[64 * 1024];
  for (;;) {
    pollfd fd{in_fd, POLLIN, 0};
    int ready = ::poll(&fd, 1, server.wait_ms());
    if (ready < 0 && errno != EINTR) return 1;
    server.tick();
    if (ready <= 0) continue;
    ssize_t n = ::read(in_fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return server.shut_down() ? 0 : 1;  // the client went away without `exit`
    reader.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    std::string body, error;
    for (;;) {
      MessageReader::Status status = reader.next(body, error);
      if (status == MessageReader::Status::need_more) break;
      if (status == MessageReader::Status::bad_header) {
        log("skipped " + error);
        continue;
      }
      if (std::optional<int> code = server.handle(body)) return *code;
      server.tick();
    }
    if (server.failed()) return 1;
  }
}

std::function<int()> add_lsp_command(CLI::App& app) {
  auto options = std::make_shared<ServerOptions>();
  app.add_option("--debounce-ms", options->debounce_ms,
                 "Milliseconds to wait after a change before checking (default 200)")
      ->check(CLI::Range(0, 10000));
  app.add_flag("--stdio", options->stdio, "Talk over stdin and stdout (the default and only way; for clients that pass it)");
  app.footer(
      "Speaks the Language Server Protocol 3.17 on stdin and stdout; logs go to stderr.\n"
      "Exit status: 0 after a shutdown request and exit, 1 otherwise.\n"
      "Set-up for editors: docs/editors.md.");
  return [options] { return serve(STDIN_FILENO, STDOUT_FILENO, *options); };
}

}  // namespace ptag::lsp
