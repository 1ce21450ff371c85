// A value, or the diagnostics that explain why there is none. Warnings come
// along with a value too. render() prints them as the CLI does.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "ptag/diagnostic.hpp"
#include "ptag/source.hpp"

namespace ptag {

template <typename T>
class Result {
 public:
  Result(std::optional<T> value, Diagnostics diagnostics, SourceSet sources)
      : value_(std::move(value)),
        diagnostics_(std::move(diagnostics)),
        sources_(std::move(sources)) {}

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_.all(); }
  const SourceSet& sources() const { return sources_; }
  std::string render() const {
    std::string out;
    for (const Diagnostic& d : diagnostics_.all()) out += render_text(d, sources_);
    return out;
  }

 private:
  std::optional<T> value_;
  Diagnostics diagnostics_;
  SourceSet sources_;
};

}  // namespace ptag
