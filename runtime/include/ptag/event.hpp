// A partner event as the runtime sees it (docs/events.md). Views only: the
// source that made the event owns the bytes until the next event.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "ptag/time.hpp"

namespace ptag {

// A value of a `data` field, an attribute, or a guard operand.
struct Value {
  enum class Kind : std::uint8_t { number, text, boolean, list } kind = Kind::number;
  std::int64_t number = 0;  // millionths; 0/1 for booleans; the list index for lists
  std::string_view text;
};

struct Field {
  std::string_view name;
  Value value;
};

struct Event {
  std::string_view id;  // empty when the event has none
  bool has_id = false;
  std::string_view type;
  std::string_view partner;
  Seconds time = 0;
  std::vector<Field> data;  // strings, numbers and booleans only (docs/events.md, "data fields")

  const Field* field(std::string_view name) const {
    for (const Field& f : data) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
};

}  // namespace ptag
