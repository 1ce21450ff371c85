#include "ptag/event_batch.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace ptag {
namespace {
constexpr std::size_t kChunk = 64 * 1024;
}

std::string_view EventBatch::keep(std::string_view s) {
  if (s.empty()) return {};
  if (s.size() > kChunk) {
    large_.push_back(std::make_unique<char[]>(s.size()));
    std::memcpy(large_.back().get(), s.data(), s.size());
    return {large_.back().get(), s.size()};
  }
  if (chunks_.empty() || used_ + s.size() > kChunk) {
    if (!chunks_.empty()) ++chunk_;
    if (chunk_ == chunks_.size()) chunks_.push_back(std::make_unique<char[]>(kChunk));
    used_ = 0;
  }
  char* at = chunks_[chunk_].get() + used_;
  std::memcpy(at, s.data(), s.size());
  used_ += s.size();
  return {at, s.size()};
}

void EventBatch::add(const Event& event, std::size_t line) {
  if (size_ == events_.size()) {
    events_.emplace_back();
    lines_.push_back(0);
  }
  Event& e = events_[size_];
  lines_[size_] = line;
  ++size_;
  e.id = keep(event.id);
  e.has_id = event.has_id;
  e.type = keep(event.type);
  e.partner = keep(event.partner);
  e.time = event.time;
  e.data.clear();  // keeps its capacity
  for (const Field& f : event.data) {
    Field copy{keep(f.name), f.value};
    if (f.value.kind == Value::Kind::text) copy.value.text = keep(f.value.text);
    e.data.push_back(copy);
  }
}

void EventBatch::sort_by_time() {
  std::vector<std::size_t> order(size_);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
    return events_[a].time < events_[b].time;
  });
  std::vector<Event> events;
  std::vector<std::size_t> lines;
  events.reserve(events_.size());
  lines.reserve(lines_.size());
  for (std::size_t i : order) {
    events.push_back(std::move(events_[i]));
    lines.push_back(lines_[i]);
  }
  for (std::size_t i = size_; i < events_.size(); ++i) events.push_back(std::move(events_[i]));
  lines.resize(lines_.size());
  events_ = std::move(events);
  lines_ = std::move(lines);
}

void EventBatch::clear() {
  size_ = 0;
  chunk_ = 0;
  used_ = 0;
  large_.clear();
}

}  // namespace ptag
