// The host side of native guards: what they cannot do inline, done exactly
// as the bytecode interpreter does it (vm.cpp).
#include "ptag/native_host.hpp"

#include <cstddef>
#include <string_view>

#include "state.hpp"

namespace ptag {
namespace {

void put(const Value& v, NativeValue* out) {
  out->kind = static_cast<std::uint8_t>(v.kind);
  out->number = v.number;
  out->text = v.text.data();
  out->size = v.text.size();
}

int event_field(const NativeFrame* frame, const char* name, std::uint64_t size, NativeValue* out) {
  const Field* f = frame->event ? frame->event->field(std::string_view(name, size)) : nullptr;
  if (!f) return 0;
  put(f->value, out);
  return 1;
}

int partner_field(const NativeFrame* frame, const char* name, std::uint64_t size, NativeValue* out) {
  const auto* view = static_cast<const PartnerView*>(frame->view);
  const Attribute* a = view->attribute(std::string_view(name, size));
  if (!a) return 0;
  put(Value{a->kind, a->number, a->text}, out);
  return 1;
}

int compare_text(const char* a, std::uint64_t a_size, const char* b, std::uint64_t b_size) {
  int c = std::string_view(a, a_size).compare(std::string_view(b, b_size));
  return c < 0 ? -1 : c > 0;
}

int multiply(std::int64_t a, std::int64_t b, std::int64_t* out) {
  return exact_multiply(a, b, out) ? 1 : 0;
}

int divide(std::int64_t a, std::int64_t b, std::int64_t* out) {
  return exact_divide(a, b, out) ? 1 : 0;
}

void fire(NativeFrame* frame, std::uint32_t rule) {
  static_cast<NativeRunner*>(frame->runner)->fire(*frame, rule);
}

void guard_error(NativeFrame* frame, std::uint32_t rule) {
  static_cast<NativeRunner*>(frame->runner)->guard_error(rule);
}

void others(NativeFrame* frame, std::uint32_t rule) {
  static_cast<NativeRunner*>(frame->runner)->others_before(*frame, rule);
}

}  // namespace

const NativeHost& native_host() {
  static const NativeHost host{event_field, partner_field, compare_text, multiply, divide, fire, guard_error, others};
  return host;
}

NativeLayout native_layout() {
  return {offsetof(Partner, counts), offsetof(Partner, money), offsetof(Partner, joined_at),
          offsetof(Partner, last_activity), offsetof(Partner, tag_bits)};
}

}  // namespace ptag
